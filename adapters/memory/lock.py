"""InMemoryLock: a lock table shared by the locks given the same dict."""

from __future__ import annotations

from ports.errors import LockHeldError
from ports.lock import HeldLock, Lock


class InMemoryHeldLock(HeldLock):
    """One client's entry in the table, removed on release."""

    def __init__(self, table: dict[str, str], client: str) -> None:
        self._table = table
        self._client: str | None = client

    def release(self) -> None:
        """Remove the entry; safe to call twice."""
        if self._client is not None:
            self._table.pop(self._client, None)
            self._client = None


class InMemoryLock(Lock):
    """A lock table: `held` maps each locked client to its holder (share it between locks)."""

    def __init__(self, held: dict[str, str] | None = None, *, owner: str = "pid 1") -> None:
        self.held = held if held is not None else {}
        self.owner = owner

    def acquire(self, client: str) -> InMemoryHeldLock:
        """Take the lock or raise LockHeldError naming the holder."""
        if client in self.held:
            raise LockHeldError(f"another run for {client} is in progress ({self.held[client]})")
        self.held[client] = self.owner
        return InMemoryHeldLock(self.held, client)
