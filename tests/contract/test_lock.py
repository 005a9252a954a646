"""The Lock contract, run against InMemoryLock and FlockLock.

Each adapter gives `new_lock`: a factory of Lock objects that share one lock table, as two runs
of a job on one host share `[paths] lock_root` (FlockLock) or one table (InMemoryLock). Two locks
from one factory therefore stand for two runs. FlockLock across real processes (and a killed
holder) is tested in tests/integration/test_lock.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.memory.clock import FixedClock
from adapters.memory.lock import InMemoryLock
from adapters.os.lock import FlockLock
from ports.errors import LockHeldError
from ports.lock import Lock

LockFactory = Callable[[], Lock]
MOMENT = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)


@pytest.fixture
def memory_locks() -> LockFactory:
    table: dict[str, str] = {}
    return lambda: InMemoryLock(table)


@pytest.fixture
def flock_locks(tmp_path: Path) -> LockFactory:
    return lambda: FlockLock(tmp_path / "locks", FixedClock(MOMENT))


@pytest.fixture(params=["memory_locks", "flock_locks"], ids=["memory", "flock"])
def new_lock(request: pytest.FixtureRequest) -> LockFactory:
    """Return a factory of locks sharing one table, for each adapter in turn."""
    factory: LockFactory = request.getfixturevalue(request.param)
    return factory


def is_free(new_lock: LockFactory, client: str) -> bool:
    """Tell whether another run could take `client` now (letting it go again at once)."""
    try:
        held = new_lock().acquire(client)
    except LockHeldError:
        return False
    held.release()
    return True


class TestLockContract:
    def test_a_held_lock_refuses_another_run_until_it_is_released(
        self, new_lock: LockFactory
    ) -> None:
        held = new_lock().acquire("acme")

        with pytest.raises(LockHeldError):
            new_lock().acquire("acme")
        held.release()

        assert is_free(new_lock, "acme")

    def test_the_refusal_is_one_line_that_names_the_client_and_the_holder(
        self, new_lock: LockFactory
    ) -> None:
        held = new_lock().acquire("acme")
        try:
            with pytest.raises(LockHeldError) as refused:
                new_lock().acquire("acme")
        finally:
            held.release()

        message = str(refused.value)
        assert message.startswith("another run for acme is in progress (")
        assert message.endswith(")")
        assert "\n" not in message

    def test_a_refused_run_leaves_the_holder_holding(self, new_lock: LockFactory) -> None:
        held = new_lock().acquire("acme")
        try:
            with pytest.raises(LockHeldError):
                new_lock().acquire("acme")

            assert not is_free(new_lock, "acme")
        finally:
            held.release()

    def test_one_lock_object_refuses_a_client_it_already_holds(self, new_lock: LockFactory) -> None:
        lock = new_lock()
        held = lock.acquire("acme")
        try:
            with pytest.raises(LockHeldError):
                lock.acquire("acme")
        finally:
            held.release()

    def test_locks_of_different_clients_do_not_conflict(self, new_lock: LockFactory) -> None:
        acme = new_lock().acquire("acme")
        globex = new_lock().acquire("globex")

        acme.release()

        assert is_free(new_lock, "acme")
        assert not is_free(new_lock, "globex")
        globex.release()
        assert is_free(new_lock, "globex")

    def test_releasing_twice_never_frees_a_later_holders_lock(self, new_lock: LockFactory) -> None:
        first = new_lock().acquire("acme")
        first.release()
        later = new_lock().acquire("acme")
        try:
            first.release()

            assert not is_free(new_lock, "acme")
        finally:
            later.release()
        assert is_free(new_lock, "acme")
