"""SIGTERM, SIGINT and SIGHUP stop real jobs in order (SPEC 15), and the next run starts at once.

Each job is held mid-work by a slow tool (a throttled pg_dump or gpg, a pg_restore that waits),
then signalled. It must print exactly `Critical failure: terminated by signal <NAME>`, exit
128 + the signal's number, and leave nothing: no partial run, no keyring or gpg-agent, no scratch
or partial output, no share marker, no held lock, no child still running. The same job run again
at once succeeds.
"""

from __future__ import annotations

import os
import signal
import stat
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from domain.rules import metrics as m
from tests.reliability.aftermath import host_problems, share_problems
from tests.reliability.host import Proc, processes, processes_mentioning
from tests.reliability.stand import INTO_A_DATABASE, Stand, delayed, throttled
from tests.reliability.world import (
    partial_debris,
    published_runs,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SLOW_BYTES_PER_SECOND = 200_000
"""The big database's dump of a few MB then takes tens of seconds: the signal lands mid-dump."""


def stopped_in_order(stand: Stand, result_code: int, stdout: str, stderr: str, name: str) -> None:
    """Assert the one line, the exit status, and that nothing is left behind."""
    signum = signal.Signals[name]
    assert (result_code, stdout, stderr) == (
        128 + signum,
        f"Critical failure: terminated by signal {name}\n",
        "",
    )
    assert share_problems(stand.site) == []
    assert host_problems(stand.site, stand.outputs) == []
    assert processes_mentioning(str(stand.site.root / "tools-")) == []
    assert f"job stopped: terminated by signal {name}" in stand.site.logs()


@pytest.mark.parametrize("name", ["SIGTERM", "SIGINT", "SIGHUP"])
def test_a_signal_mid_dump_stops_the_backup_in_order_and_the_rerun_succeeds_at_once(
    stand: Stand, name: str
) -> None:
    stand.use_tools(stand.tools(pg_dump=throttled(SLOW_BYTES_PER_SECOND)))
    job = stand.start("backup")
    wait_for(lambda: list(stand.site.share.glob("end-*/*/*.partial/*.partial")), "a dump", job)

    os.kill(job.pid, signal.Signals[name])
    result = job.finish()

    stopped_in_order(stand, result.code, result.stdout, result.stderr, name)
    assert len(published_runs(stand.site.share)) == 1
    stand.use_tools(None)
    rerun = stand.run("backup")
    assert (rerun.code, rerun.failures) == (0, []), rerun.stdout
    assert len(published_runs(stand.site.share)) == 2
    assert share_problems(stand.site) == []


def test_sigterm_to_the_whole_process_group_stops_the_backup_in_order(stand: Stand) -> None:
    stand.use_tools(stand.tools(pg_dump=throttled(SLOW_BYTES_PER_SECOND)))
    job = stand.start("backup")
    wait_for(lambda: list(stand.site.share.glob("end-*/*/*.partial/*.partial")), "a dump", job)

    os.killpg(job.pid, signal.SIGTERM)
    result = job.finish()

    stopped_in_order(stand, result.code, result.stdout, result.stderr, "SIGTERM")


def test_more_signals_during_the_clean_up_do_not_interrupt_it(stand: Stand) -> None:
    stand.use_tools(stand.tools(pg_dump=throttled(SLOW_BYTES_PER_SECOND)))
    job = stand.start("backup")
    wait_for(lambda: list(stand.site.share.glob("end-*/*/*.partial/*.partial")), "a dump", job)

    for name in ("SIGTERM", "SIGTERM", "SIGINT", "SIGHUP", "SIGTERM"):
        os.kill(job.pid, signal.Signals[name])
        time.sleep(0.01)
    result = job.finish()

    stopped_in_order(stand, result.code, result.stdout, result.stderr, "SIGTERM")


def test_sigterm_during_pg_restore_drops_the_new_target_removes_the_plaintext_and_the_key(
    stand: Stand,
) -> None:
    # Only the restore into the target waits: reading the archive's database entries first
    # (pg_restore --list, --use-list) goes on at once.
    stand.use_tools(stand.tools(pg_restore=INTO_A_DATABASE + delayed(60)))
    target = stand.new_target("restored")
    job = stand.start("restore", target)
    wait_for(stand.restoring, "pg_restore into the target", job)
    assert list((stand.site.root / "work").glob("scratch-*")), "the plaintext is on disk now"
    assert stand.database_exists(target)

    os.kill(job.pid, signal.SIGTERM)
    result = job.finish()

    stopped_in_order(stand, result.code, result.stdout, result.stderr, "SIGTERM")
    assert not stand.database_exists(target), "the target this run created is dropped again"
    stand.use_tools(None)
    rerun = stand.run("restore", target)
    assert (rerun.code, rerun.failures) == (0, []), rerun.stdout
    assert host_problems(stand.site) == []


def test_sigterm_mid_decrypt_leaves_no_output_no_partial_and_no_key(stand: Stand) -> None:
    slow = stand.slow_gpg(throttled(SLOW_BYTES_PER_SECOND))
    output = stand.new_target("out")
    job = stand.start("decrypt", output, env=slow)
    wait_for(lambda: list(stand.outputs.glob(".*.partial")), "a partial output", job)

    os.kill(job.pid, signal.SIGTERM)
    result = job.finish()

    stopped_in_order(stand, result.code, result.stdout, result.stderr, "SIGTERM")
    assert list(stand.outputs.iterdir()) == []
    rerun = stand.run("decrypt", output)
    assert (rerun.code, rerun.failures) == (0, []), rerun.stdout
    assert (stand.outputs / output).stat().st_size > 0
    assert host_problems(stand.site, stand.outputs) == []


def test_sigterm_while_the_job_still_imports_its_modules_is_one_line_too(stand: Stand) -> None:
    job = stand.start("list")
    # The stop signals are held from the first lines of the program, before the container's
    # imports (most of a second), which a SIGTERM then interrupts.
    wait_for(lambda: _handles_sigterm(job.pid), "the stop signals held", job)
    os.kill(job.pid, signal.SIGTERM)
    result = job.finish()

    stopped_in_order(stand, result.code, result.stdout, result.stderr, "SIGTERM")


def _handles_sigterm(pid: int) -> bool:
    """Tell whether a process catches SIGTERM (its SigCgt mask in /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
    return False


def test_sigterm_of_retention_stops_it_and_the_rerun_prunes(stand: Stand) -> None:
    job = stand.start("retention")
    log = stand.site.root / "logs" / "acme" / "retention.log"
    wait_for(log.exists, "the retention log", job)
    os.kill(job.pid, signal.SIGTERM)
    result = job.finish()

    # Retention may be done before the signal lands; stopped or not, nothing is left behind.
    assert result.code in (0, 143), result.stdout
    if result.code == 143:
        assert result.stdout == "Critical failure: terminated by signal SIGTERM\n"
    assert result.stderr == ""
    assert share_problems(stand.site) == []
    assert host_problems(stand.site) == []
    rerun = stand.run("retention")
    assert (rerun.code, rerun.failures) == (0, []), rerun.stdout


def test_a_child_killed_by_sigterm_is_a_failure_of_its_database_not_a_stop(stand: Stand) -> None:
    stand.use_tools(stand.tools(pg_dump=throttled(SLOW_BYTES_PER_SECOND)))
    job = stand.start("backup")

    def dumping() -> list[Proc]:
        # The job's own child dumping the big database (the throttle in front of pg_dump), not
        # a probe of pg_dump's options.
        return [
            child
            for child in processes()
            if child.ppid == job.pid and any(stand.cluster.big in arg for arg in child.argv)
        ]

    wait_for(dumping, "a dump", job)
    for child in dumping():
        os.kill(child.pid, signal.SIGTERM)
    result = job.finish()

    assert result.code >= 1
    assert "Critical failure" not in result.stdout
    assert any(line.startswith("Failure: dump_database acme") for line in result.failures)
    assert partial_debris(stand.site.share) == []
    assert share_problems(stand.site) == []
    assert host_problems(stand.site) == []


def test_a_backup_stopped_by_sigterm_still_writes_its_metrics_as_a_critical_failure(
    stand: Stand,
) -> None:
    """Issue 16's metrics through issue 12's stop: the one line, and a .prom saying it failed."""
    textfiles = stand.site.root / "textfile"
    textfiles.mkdir()
    stand.site.configure(metrics={"textfile_dir": str(textfiles)})
    clean = stand.run("backup")
    assert (clean.code, clean.failures) == (0, []), clean.stdout
    stand.use_tools(stand.tools(pg_dump=throttled(SLOW_BYTES_PER_SECOND)))
    job = stand.start("backup")
    wait_for(lambda: list(stand.site.share.glob("end-*/*/*.partial/*.partial")), "a dump", job)

    os.kill(job.pid, signal.SIGTERM)
    result = job.finish()

    stopped_in_order(stand, result.code, result.stdout, result.stderr, "SIGTERM")
    assert sorted(path.name for path in textfiles.iterdir()) == ["lts_acme_backup.prom"]
    prom = textfiles / "lts_acme_backup.prom"
    found = {f.name: f for f in text_string_to_metric_families(prom.read_text())}
    labels = {"client": "acme", "job": "backup"}
    failures = found[m.FAILURES].samples[0]
    assert (failures.labels, failures.value > 0) == (labels, True)
    assert found[m.CRITICAL].samples[0].value == 1
    assert found[m.LAST_RUN].samples[0].value > 0
    # The earlier, successful run is remembered; nothing of this stopped run counts as success.
    stamp = found[m.LAST_SUCCESS].samples[0].value
    assert stamp < found[m.LAST_RUN].samples[0].value
    assert stat.S_IMODE(prom.stat().st_mode) == 0o644
