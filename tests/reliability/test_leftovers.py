"""Jobs killed with SIGKILL: nothing secret outlives them, and the next job cleans up at once.

A SIGKILL leaves everything a job held (SPEC 15): its keyring and gpg-agent, its plaintext
scratch dump, the partial file of a decrypt's output, the share marker, children still running.
Issue 12 found such an agent decrypting backups without a passphrase for 30 days. Now the agent
caches nothing, and every job sweeps at its start what dead jobs claimed, never what a live one
holds.
"""

from __future__ import annotations

import os
import signal

import pytest

from tests.reliability.aftermath import host_problems, keyring_problems, share_problems
from tests.reliability.host import agents_under, processes_mentioning
from tests.reliability.stand import INTO_A_DATABASE, Stand, delayed, throttled
from tests.reliability.world import captured, published_runs, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_a_restore_killed_mid_restore_leaves_no_key_that_decrypts_and_the_next_job_sweeps_it(
    stand: Stand,
) -> None:
    """Issue 12, finding 1: `kill -9 -- -PGID` of a restore, then gpg with the leftover home."""
    stand.use_tools(stand.tools(pg_restore=delayed(60)))
    job = stand.start("restore", stand.new_target("killed"))
    wait_for(lambda: captured(stand.site, "pg_restore", "run"), "pg_restore", job)
    job.kill()
    assert job.finish().code == -signal.SIGKILL
    work = stand.site.root / "work"
    assert list(work.glob("gnupg-*")), "the killed job left its keyring"
    assert list(work.glob("scratch-*")), "and its plaintext scratch dump"
    assert agents_under(stand.site.root), "and its gpg-agent"

    assert keyring_problems(stand.site, stand.latest_dump()) == []

    stand.use_tools(None)
    listed = stand.run("list")
    assert listed.code == 0, listed.stdout
    assert host_problems(stand.site) == []
    assert "removed the keyring" in stand.site.logs()
    assert "removed the file" in stand.site.logs()


def test_a_drill_killed_mid_restore_leaves_its_scratch_database_and_the_next_drill_drops_it(
    stand: Stand,
) -> None:
    """A scratch database holds a plaintext copy of a client database, on another server."""
    stand.use_tools(stand.tools(pg_restore=INTO_A_DATABASE + delayed(60)))
    job = stand.start("drill")
    wait_for(stand.restoring, "pg_restore into the scratch database", job)
    [left] = stand.scratch_databases()
    job.kill()
    assert job.finish().code == -signal.SIGKILL
    assert stand.scratch_databases() == [left], "SIGKILL leaves the scratch database"

    stand.use_tools(None)
    rerun = stand.run("drill")

    assert (rerun.code, rerun.failures) == (0, []), rerun.stdout
    assert stand.scratch_databases() == []
    assert f"dropped the scratch database {left} that a drill no longer running left" in (
        stand.site.logs()
    )
    assert host_problems(stand.site) == []


def test_a_restore_killed_alone_leaves_pg_restore_running_and_the_next_restore_stops_it(
    stand: Stand,
) -> None:
    """The OOM killer takes the job, not its children: pg_restore would restore for hours."""
    stand.use_tools(stand.tools(pg_restore=delayed(60)))
    target = stand.new_target("orphaned")
    job = stand.start("restore", target)
    scratch = str(stand.site.root / "work" / "scratch-")
    wait_for(lambda: processes_mentioning(scratch), "pg_restore", job)
    [orphan] = processes_mentioning(scratch)
    os.kill(job.pid, signal.SIGKILL)
    job.finish()
    assert [p.pid for p in processes_mentioning(scratch)] == [orphan.pid], "pg_restore goes on"

    stand.use_tools(None)
    rerun = stand.run("restore", target)

    assert (rerun.code, rerun.failures) == (0, []), rerun.stdout
    assert processes_mentioning(scratch) == []
    assert host_problems(stand.site) == []
    assert "killed the process /proc/" in stand.site.logs()


def test_a_decrypt_killed_mid_stream_leaves_a_partial_output_the_next_job_removes(
    stand: Stand,
) -> None:
    slow = stand.slow_gpg(throttled(200_000))
    output = stand.new_target("out")
    job = stand.start("decrypt", output, env=slow)
    wait_for(lambda: list(stand.outputs.glob(".*.partial")), "a partial output", job)
    job.kill()
    job.finish()
    assert list(stand.outputs.glob(".*.partial")), "the killed decrypt left plaintext"
    assert keyring_problems(stand.site, stand.latest_dump()) == []

    rerun = stand.run("decrypt", output)

    assert (rerun.code, rerun.failures) == (0, []), rerun.stdout
    assert [p.name for p in stand.outputs.iterdir()] == [output]
    assert host_problems(stand.site, stand.outputs) == []


def test_a_backup_killed_mid_dump_is_followed_at_once_by_a_clean_rerun(stand: Stand) -> None:
    """Issue 12, finding 2: the dead run's share marker blocked reruns for 48 hours."""
    stand.use_tools(stand.tools(pg_dump=throttled(200_000)))
    job = stand.start("backup")
    wait_for(lambda: list(stand.site.share.glob("end-*/*/*.partial/*.partial")), "a dump", job)
    job.kill()
    job.finish()
    assert (stand.site.share / ".lts-lock.json").exists()

    stand.use_tools(None)
    rerun = stand.run("backup")

    assert (rerun.code, rerun.failures) == (0, []), rerun.stdout
    assert "took over the share lock of host" in stand.site.logs()
    assert len(published_runs(stand.site.share)) == 2
    assert share_problems(stand.site) == [], "the dead run's partial run went at once"
    assert host_problems(stand.site) == []


def test_a_live_jobs_keyring_scratch_and_children_are_never_swept(stand: Stand) -> None:
    stand.use_tools(stand.tools(pg_restore=delayed(4)))
    target = stand.new_target("live")
    job = stand.start("restore", target)
    wait_for(lambda: captured(stand.site, "pg_restore", "run"), "pg_restore", job)
    work = stand.site.root / "work"
    held = sorted(work.iterdir())

    beside = stand.run("list")

    assert beside.code == 0, beside.stdout
    assert sorted(work.iterdir()) == held
    assert agents_under(stand.site.root)
    result = job.finish()
    assert (result.code, result.failures) == (0, []), result.stdout
    assert host_problems(stand.site) == []
