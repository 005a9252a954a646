"""FlockLock across processes: a live holder refuses others; a SIGKILLed holder frees the lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.memory.clock import FixedClock
from adapters.os.lock import FlockLock, _wait_for_holder
from ports.errors import LockHeldError

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CLOCK = FixedClock(datetime(2024, 6, 1, 1, 0, tzinfo=UTC))

HOLDER = """
import sys, time
from pathlib import Path
from adapters.os.clock import SystemClock
from adapters.os.lock import FlockLock
held = FlockLock(Path(sys.argv[1]), SystemClock()).acquire("acme")
print("locked", flush=True)
time.sleep(60)
"""


def start_holder(lock_root: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock_root)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    assert child.stdout is not None
    assert child.stdout.readline() == "locked\n"
    return child


def test_lock_held_by_another_process_is_refused_and_freed_when_that_process_is_killed(tmp_path):
    child = start_holder(tmp_path)
    try:
        with pytest.raises(LockHeldError) as refused:
            FlockLock(tmp_path, CLOCK).acquire("acme")
        message = str(refused.value)
        assert message.startswith(f"another run for acme is in progress (pid {child.pid}, since ")
        assert "\n" not in message
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        assert child.stdout is not None
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL

    held = FlockLock(tmp_path, CLOCK).acquire("acme")
    try:
        assert (tmp_path / "acme.lock").read_text().startswith(f"pid={os.getpid()} ")
    finally:
        held.release()


def test_lock_is_free_for_another_process_after_release(tmp_path):
    FlockLock(tmp_path, CLOCK).acquire("acme").release()
    child = start_holder(tmp_path)
    try:
        with pytest.raises(LockHeldError, match=f"pid {child.pid}"):
            FlockLock(tmp_path, CLOCK).acquire("acme")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        assert child.stdout is not None
        child.stdout.close()


def test_a_refused_run_waits_for_a_new_holders_line_instead_of_naming_the_old_one(tmp_path):
    path = tmp_path / "acme.lock"
    path.write_text("pid=999999999 since=2026-01-01T00:00:00+00:00 host=gone\n")
    fd = os.open(path, os.O_RDWR)

    def new_holder_writes_its_line():
        time.sleep(0.1)
        line = f"pid={os.getpid()} since=2026-11-28T12:00:00+00:00 host=here\n".encode()
        os.pwrite(fd, line, 0)
        os.ftruncate(fd, len(line))

    writer = threading.Thread(target=new_holder_writes_its_line)
    writer.start()
    try:
        assert _wait_for_holder(fd) == f"pid {os.getpid()}, since 2026-11-28T12:00:00+00:00"
    finally:
        writer.join()
        os.close(fd)
