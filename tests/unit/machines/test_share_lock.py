"""The share's lock marker with the HostProcesses port (SPEC 5.1, 15): a dead run of this host
is taken over at once, a live one refuses, another host's marker keeps the age rule."""

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath

from adapters.memory.clock import FixedClock
from adapters.memory.file_share import InMemoryFileShare
from adapters.memory.host_processes import InMemoryHostProcesses
from domain.framework.definition import node
from domain.framework.machine import Machine, Step
from domain.framework.results import Failure
from domain.services.share_lock import SHARE_LOCK_FILE, ShareLock, take_share_lock_step
from ports.host_processes import ProcessOwner
from tests.support.memory_world import World

RUN = PurePosixPath("end-of-month/2026-11/20261128T220000Z")
DEAD_PARTIAL = PurePosixPath("end-of-month/2026-11/20261128T210000Z.partial")


def marker(host: str, pid: int, started: str, since: str) -> bytes:
    owner = {"host": host, "pid": pid, "started": started}
    return json.dumps(
        {"owner": f"host {host} pid {pid}", "since": since, "process": owner}
    ).encode()


def failures(world: World) -> list[tuple[str, str]]:
    results = world.mount_machine().execute()
    return [(r.node, r.message) for r in results if isinstance(r, Failure)]


def lock_on(share: InMemoryFileShare) -> ShareLock:
    return ShareLock(
        share=share,
        clock=FixedClock(datetime(2026, 11, 28, 22, 0, tzinfo=UTC)),
        client="acme",
        owner="host test-host pid 42",
        max_age=timedelta(hours=48),
        processes=InMemoryHostProcesses(),
    )


def test_the_marker_names_the_process_holding_it():
    share = InMemoryFileShare()
    lock = lock_on(share)
    assert lock.take() is None
    assert json.loads(share.files[SHARE_LOCK_FILE]) == {
        "owner": "host test-host pid 42",
        "since": "2026-11-28T22:00:00+00:00",
        "process": {"host": "test-host", "pid": 42, "started": "boot:100"},
    }
    lock.release()
    assert not share.exists(SHARE_LOCK_FILE)


def test_a_marker_of_a_dead_process_of_this_host_is_taken_over_at_once_and_only_logged(caplog):
    world = World()
    # A minute old: far younger than the 48 hours of the age rule.
    world.share.files[SHARE_LOCK_FILE] = marker(
        "test-host", 7, "boot:50", "2026-11-28T21:59:00+00:00"
    )
    world.share.dirs.add(DEAD_PARTIAL.parent)
    world.share.dirs.add(DEAD_PARTIAL)
    world.share.files[DEAD_PARTIAL / "sales.dump.gpg.partial"] = b"half"
    with caplog.at_level(logging.WARNING, logger="lts.share_lock"):
        assert failures(world) == []
    assert "took over the share lock of host test-host pid 7" in caplog.text
    assert world.share.exists(RUN / "manifest.json")
    assert not world.share.exists(SHARE_LOCK_FILE)
    assert not world.share.exists(DEAD_PARTIAL), "the dead run's partial run is removed at once"


def test_a_reused_pid_is_a_dead_run_too():
    world = World()
    # pid 42 is this very process now, but it started at another time: not the marker's writer.
    world.share.files[SHARE_LOCK_FILE] = marker(
        "test-host", 42, "boot:1", "2026-11-28T21:59:00+00:00"
    )
    assert failures(world) == []


def test_a_marker_of_a_running_process_of_this_host_refuses_the_run_even_when_old():
    other = ProcessOwner("test-host", 9, "boot:90")
    world = World(processes=InMemoryHostProcesses(running={other}))
    content = marker("test-host", 9, "boot:90", "2026-11-01T00:00:00+00:00")
    world.share.files[SHARE_LOCK_FILE] = content
    [(node, message)] = failures(world)
    assert node == "take_share_lock"
    assert message == (
        "acme db.acme.test another run for acme is in progress (host test-host pid 9, "
        "since 2026-11-01T00:00:00+00:00) according to the share lock"
    )
    assert world.share.files[SHARE_LOCK_FILE] == content
    assert world.backup is not None
    world.run_end_point()
    assert world.console.lines[-1] == "backup acme: not started, 1 failure"
    assert world.exit.code == 1


def test_a_young_marker_of_another_host_refuses_the_run():
    world = World()
    world.share.files[SHARE_LOCK_FILE] = marker(
        "other-host", 7, "boot:50", "2026-11-28T21:00:00+00:00"
    )
    [(node, message)] = failures(world)
    assert node == "take_share_lock"
    assert "another run for acme is in progress (host other-host pid 7" in message


def test_an_old_marker_of_another_host_is_taken_over_and_reported_as_a_failure():
    world = World()
    world.share.files[SHARE_LOCK_FILE] = marker(
        "other-host", 7, "boot:50", "2026-11-25T21:00:00+00:00"
    )
    world.share.dirs.add(DEAD_PARTIAL.parent)
    world.share.dirs.add(DEAD_PARTIAL)
    [(node, message)] = failures(world)
    assert node == "take_share_lock"
    assert message == (
        "acme db.acme.test took over a stale share lock (host other-host pid 7, since "
        "2026-11-25T21:00:00+00:00); the run that left it did not finish"
    )
    assert world.share.exists(RUN / "manifest.json")
    # Another host's run cannot be proven dead: its partial run keeps the 24-hour rule.
    assert world.share.exists(DEAD_PARTIAL)


def test_a_marker_without_a_process_keeps_the_age_rule():
    world = World()
    old_format = {"owner": "host test-host pid 7", "since": "2026-11-28T21:00:00+00:00"}
    world.share.files[SHARE_LOCK_FILE] = json.dumps(old_format).encode()
    [(node, _)] = failures(world)
    assert node == "take_share_lock"


def test_a_marker_written_without_a_time_zone_is_read_as_utc():
    world = World()
    naive = {"owner": "host other pid 9", "since": "2026-11-28T21:30:00"}
    world.share.files[SHARE_LOCK_FILE] = json.dumps(naive).encode()
    [(node, message)] = failures(world)
    assert node == "take_share_lock"
    assert "in progress (host other pid 9, since 2026-11-28T21:30:00+00:00)" in message


def test_a_dry_run_neither_writes_nor_reads_the_marker():
    share = InMemoryFileShare()
    held = b'{"owner": "host other pid 1", "since": "2026-11-28T21:59:00+00:00"}'
    share.files[SHARE_LOCK_FILE] = held
    lock = lock_on(share)
    machine = LockTaker(lock, dry_run=True)
    results = machine.execute()
    assert [(r.node, isinstance(r, Failure)) for r in results] == [("take_share_lock", False)]
    assert share.files[SHARE_LOCK_FILE] == held
    machine = LockTaker(lock, dry_run=False)
    results = machine.execute()
    assert [(r.node, isinstance(r, Failure)) for r in results] == [("take_share_lock", True)]
    assert share.files[SHARE_LOCK_FILE] == held


class LockTaker(Machine):
    """A one-node machine that takes the lock the way the jobs' entry nodes do."""

    def __init__(self, lock: ShareLock, *, dry_run: bool) -> None:
        super().__init__()
        self._lock = lock
        self._dry_run = dry_run

    @node(
        entry=True,
        happy=("report_results",),
        unhappy=("report_results",),
        on_exception="report_results",
    )
    def take_share_lock(self) -> Step:
        return take_share_lock_step(self, self._lock, self.report_results, dry_run=self._dry_run)
