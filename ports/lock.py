"""The Lock port: one run per client at a time."""

from abc import abstractmethod
from typing import Protocol


class HeldLock(Protocol):
    """A client's lock, held until `release` (or until its holder dies)."""

    @abstractmethod
    def release(self) -> None:
        """Release the lock; safe to call twice."""


class Lock(Protocol):
    """A per-client exclusive lock held for the length of a run.

    `acquire` never waits: it raises LockHeldError ("another run for CLIENT is in progress
    (pid N, since T)") when another process holds it. A lock is released by its handle or when
    its holder dies, so a killed run never blocks the next one.
    """

    @abstractmethod
    def acquire(self, client: str) -> HeldLock:
        """Take the lock for `client` or raise LockHeldError."""
