"""Tests of the OS adapters: console, exit, clock, thread-pool task runner, flock lock."""

from __future__ import annotations

import importlib
import logging
import os
import pkgutil
import stat
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.memory.clock import FixedClock
from adapters.os.clock import SystemClock
from adapters.os.console import StdoutConsole
from adapters.os.cpus import usable_cpus
from adapters.os.exit import ProcessExit
from adapters.os.lock import FlockLock
from adapters.os.paths import make_private_dirs
from adapters.os.task_runner import ThreadPoolTaskRunner
from ports.errors import ConfigError, LockHeldError

MOMENT = datetime(2024, 5, 31, 22, 15, tzinfo=UTC)


# ---------------------------------------------------------------- console, exit, clock


def test_console_prints_each_line_to_stdout(capsys):
    console = StdoutConsole()
    console.print("Failure: dump sales")
    console.print("2 failures")
    assert capsys.readouterr().out == "Failure: dump sales\n2 failures\n"


def test_process_exit_raises_system_exit_with_the_code():
    with pytest.raises(SystemExit) as raised:
        ProcessExit().exit(3)
    assert raised.value.code == 3


def test_system_clock_returns_the_current_time_in_utc():
    before = time.time()
    now = SystemClock().now()
    after = time.time()
    offset = now.utcoffset()
    assert offset is not None
    assert offset.total_seconds() == 0
    assert before - 1 <= now.timestamp() <= after + 1


# ---------------------------------------------------------------- task runner


def test_task_runner_returns_results_in_item_order_even_when_later_items_finish_first():
    def slow_for_small(n: int) -> int:
        time.sleep(0.01 * (5 - n))
        return n * n

    assert ThreadPoolTaskRunner(4).map(slow_for_small, [0, 1, 2, 3, 4]) == [0, 1, 4, 9, 16]


def test_task_runner_runs_tasks_in_parallel_up_to_its_worker_count():
    barrier = threading.Barrier(3, timeout=5)

    def meet(n: int) -> int:
        barrier.wait()  # only passes when three tasks run at the same time
        return n

    assert ThreadPoolTaskRunner(3).map(meet, [1, 2, 3]) == [1, 2, 3]


def test_task_runner_never_runs_more_tasks_at_once_than_its_workers():
    running = 0
    peak = 0
    guard = threading.Lock()

    def count(n: int) -> int:
        nonlocal running, peak
        with guard:
            running += 1
            peak = max(peak, running)
        time.sleep(0.01)
        with guard:
            running -= 1
        return n

    ThreadPoolTaskRunner(2).map(count, list(range(8)))
    assert peak <= 2


def test_task_runner_finishes_every_task_before_raising_the_first_failure_in_item_order():
    finished: list[int] = []

    def task(n: int) -> int:
        if n == 0:
            time.sleep(0.05)
            raise ValueError("item 0 failed")
        if n == 1:
            raise KeyError("item 1 failed")
        time.sleep(0.02)
        finished.append(n)
        return n

    with pytest.raises(ValueError, match="item 0 failed"):
        ThreadPoolTaskRunner(2).map(task, [0, 1, 2, 3, 4])
    assert sorted(finished) == [2, 3, 4]


def test_task_runner_returns_an_empty_list_for_no_items():
    assert ThreadPoolTaskRunner(2).map(str, []) == []


def test_task_runner_refuses_fewer_than_one_worker():
    with pytest.raises(ValueError, match="at least one worker"):
        ThreadPoolTaskRunner(0)


# ---------------------------------------------------------------- the logger tree

TREE_CHECKED = (
    "adapters.os",
    "adapters.files",
    "adapters.azure",
    "adapters.fernet",
    "adapters.cifs",
    "adapters.smb",
)


def test_the_os_files_azure_fernet_cifs_and_smb_adapters_log_only_under_lts():
    # A logger outside "lts" never reaches the client log nor its masking filter.
    for package in TREE_CHECKED:
        module = importlib.import_module(package)
        for found in pkgutil.walk_packages(module.__path__, prefix=f"{package}."):
            importlib.import_module(found.name)

    loggers = logging.Logger.manager.loggerDict
    assert [name for name in loggers if name.startswith(TREE_CHECKED)] == []
    assert {"lts.files", "lts.cifs", "lts.smb"} <= set(loggers)


# ---------------------------------------------------------------- private directories


def test_make_private_dirs_creates_every_missing_directory_with_mode_0700(tmp_path):
    old_umask = os.umask(0o077 ^ 0o777)  # a umask that would otherwise clear the owner's bits
    try:
        make_private_dirs(tmp_path / "a" / "b" / "c")
    finally:
        os.umask(old_umask)
    for path in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "c"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700


def test_make_private_dirs_leaves_existing_directories_as_they_are(tmp_path):
    tmp_path.chmod(0o755)
    make_private_dirs(tmp_path)
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o755


# ---------------------------------------------------------------- flock lock (in one process)


def lock_is_free(lock_root: Path, client: str = "acme") -> bool:
    """Tell whether a fresh FlockLock can take `client` now (and let it go again)."""
    try:
        held = FlockLock(lock_root, FixedClock(MOMENT)).acquire(client)
    except LockHeldError:
        return False
    held.release()
    return True


def test_lock_writes_the_holders_pid_time_and_host_into_the_lock_file(tmp_path):
    held = FlockLock(tmp_path / "locks", FixedClock(MOMENT)).acquire("acme")
    try:
        content = (tmp_path / "locks" / "acme.lock").read_text()
        assert content.startswith(f"pid={os.getpid()} since=2024-05-31T22:15:00+00:00 host=")
        assert content.endswith("\n")
        assert stat.S_IMODE((tmp_path / "locks").stat().st_mode) == 0o700
        assert stat.S_IMODE((tmp_path / "locks" / "acme.lock").stat().st_mode) == 0o600
    finally:
        held.release()


def test_acquire_returns_a_handle_that_holds_the_lock_until_released(tmp_path):
    held = FlockLock(tmp_path, FixedClock(MOMENT)).acquire("acme")

    holding = [held.held, lock_is_free(tmp_path)]
    held.release()
    released = [held.held, lock_is_free(tmp_path)]

    assert (held.client, held.path) == ("acme", tmp_path / "acme.lock")
    assert holding == [True, False]
    assert released == [False, True]


def test_second_lock_for_the_same_client_is_refused_with_the_holders_pid_and_start(tmp_path):
    first = FlockLock(tmp_path, FixedClock(MOMENT)).acquire("acme")
    try:
        with pytest.raises(LockHeldError) as refused:
            FlockLock(tmp_path, FixedClock(MOMENT)).acquire("acme")
        assert str(refused.value) == (
            f"another run for acme is in progress (pid {os.getpid()}, "
            "since 2024-05-31T22:15:00+00:00)"
        )
        assert first.held
    finally:
        first.release()


def test_locks_of_different_clients_do_not_conflict(tmp_path):
    lock = FlockLock(tmp_path, FixedClock(MOMENT))

    acme = lock.acquire("acme")
    globex = FlockLock(tmp_path, FixedClock(MOMENT)).acquire("globex")

    assert acme.held
    assert globex.held
    assert "since=2024-05-31T22:15:00+00:00" in (tmp_path / "globex.lock").read_text()
    acme.release()
    assert not lock_is_free(tmp_path, "globex")
    globex.release()
    assert lock_is_free(tmp_path, "acme")
    assert lock_is_free(tmp_path, "globex")


def test_released_lock_can_be_taken_again_and_its_file_stays(tmp_path):
    FlockLock(tmp_path, FixedClock(MOMENT)).acquire("acme").release()
    assert (tmp_path / "acme.lock").exists()
    later = MOMENT.replace(hour=23)
    second = FlockLock(tmp_path, FixedClock(later)).acquire("acme")
    try:
        assert "since=2024-05-31T23:15:00+00:00" in (tmp_path / "acme.lock").read_text()
    finally:
        second.release()


def test_refusal_of_a_lock_whose_holder_wrote_nothing_says_the_holder_is_unknown(tmp_path):
    first = FlockLock(tmp_path, FixedClock(MOMENT)).acquire("acme")
    try:
        (tmp_path / "acme.lock").write_text("")
        with pytest.raises(LockHeldError, match=r"\(pid unknown, since unknown\)"):
            FlockLock(tmp_path, FixedClock(MOMENT)).acquire("acme")
    finally:
        first.release()


def test_releasing_a_handle_twice_does_nothing_the_second_time(tmp_path):
    held = FlockLock(tmp_path, FixedClock(MOMENT)).acquire("acme")
    held.release()
    later = FlockLock(tmp_path, FixedClock(MOMENT)).acquire("acme")
    try:
        held.release()

        assert not held.held
        assert later.held
        assert not lock_is_free(tmp_path)
    finally:
        later.release()


def test_lock_refuses_a_client_name_that_is_not_one_safe_path_component(tmp_path):
    with pytest.raises(ConfigError, match="client name"):
        FlockLock(tmp_path / "locks", FixedClock(MOMENT)).acquire("../etc/passwd")
    assert not Path(tmp_path / "etc").exists()


def test_a_client_held_through_one_lock_object_is_refused_through_the_same_object(tmp_path):
    # FlockLock keeps no state of a run: a second acquire of a held client is a second holder.
    lock = FlockLock(tmp_path, FixedClock(MOMENT))
    held = lock.acquire("acme")
    try:
        with pytest.raises(LockHeldError, match=f"pid {os.getpid()}"):
            lock.acquire("acme")
        other = lock.acquire("globex")
        other.release()
    finally:
        held.release()


def test_a_lock_root_that_cannot_be_created_gives_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigError, match=r"^cannot open the lock file .*acme\.lock \("):
        FlockLock(blocker / "locks", FixedClock(MOMENT)).acquire("acme")


def test_usable_cpus_are_those_this_process_may_run_on():
    assert usable_cpus() == len(os.sched_getaffinity(0)) >= 1
