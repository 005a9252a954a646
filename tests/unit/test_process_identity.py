"""Process identity: a pid, its start time, its boot and host tell a process from its reuse."""

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from adapters.memory.host_processes import InMemoryHostProcesses
from adapters.os.processes import LocalHostProcesses
from adapters.process.identity import (
    ProcessIdentity,
    ProcessState,
    current_identity,
    start_ticks,
    state_of,
)
from ports.host_processes import Liveness, ProcessOwner


def test_this_process_runs_and_round_trips_through_json():
    me = current_identity()
    assert me.started == start_ticks(me.pid)
    assert state_of(me) is ProcessState.RUNNING
    assert ProcessIdentity.from_json(me.to_json()) == me


def test_a_reused_pid_with_another_start_time_is_gone():
    me = current_identity()
    assert me.started is not None
    assert state_of(replace(me, started=me.started + 1)) is ProcessState.GONE


def test_a_pid_that_no_longer_exists_is_gone():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    identity = replace(current_identity(), pid=child.pid, started=start_ticks(child.pid))
    child.wait()
    assert state_of(identity) is ProcessState.GONE


def test_a_zombie_is_gone():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    identity = replace(current_identity(), pid=child.pid, started=start_ticks(child.pid))
    try:
        # Not reaped yet: its /proc entry says Z.
        for _ in range(200):
            text = Path(f"/proc/{child.pid}/stat").read_text()
            if text[text.rfind(")") + 2] == "Z":
                break
            subprocess.run(["sleep", "0.01"], check=True)
        assert state_of(identity) is ProcessState.GONE
    finally:
        child.wait()


def test_another_host_cannot_be_judged_from_here():
    assert state_of(replace(current_identity(), host="elsewhere")) is ProcessState.UNKNOWN


def test_another_boot_is_gone_only_when_the_record_predates_this_boot():
    earlier = replace(current_identity(), boot="another-boot")
    assert state_of(earlier, recorded_at=1.0) is ProcessState.GONE
    assert state_of(earlier, recorded_at=None) is ProcessState.UNKNOWN
    assert state_of(earlier, recorded_at=4_000_000_000.0) is ProcessState.UNKNOWN


def test_a_record_in_another_format_is_not_an_identity():
    assert ProcessIdentity.from_json({"host": "h", "pid": "1", "started": "x"}) is None
    assert ProcessIdentity.from_json("host h pid 1") is None


def test_the_os_adapter_answers_the_port():
    processes = LocalHostProcesses()
    me = processes.current()
    assert processes.liveness(me, None) is Liveness.RUNNING
    gone = ProcessOwner(me.host, me.pid, me.started + "7")
    assert processes.liveness(gone, None) is Liveness.GONE
    assert processes.liveness(ProcessOwner("elsewhere", 1, "b:1"), None) is Liveness.UNKNOWN


def test_the_in_memory_adapter_answers_the_port():
    processes = InMemoryHostProcesses()
    assert processes.liveness(processes.current(), None) is Liveness.RUNNING
    assert processes.liveness(ProcessOwner("test-host", 7, "boot:1"), None) is Liveness.GONE
    assert processes.liveness(ProcessOwner("other", 7, "boot:1"), None) is Liveness.UNKNOWN
