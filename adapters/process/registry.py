"""Every live child this package started, so that a stopping job can kill them all at once.

Pipelines run in worker threads while a signal handler (SPEC 15) runs in the main thread, between
two bytecodes of whatever that thread was doing. So nothing here takes a lock the interrupted code
might hold: the registry is a dict whose single-key updates and `copy()` are atomic under the GIL,
and `kill_all` only snapshots it. A stream's child registered after `kill_all(refuse_new=True)`
took its snapshot is killed by `register` itself, so a pipeline starting during a stop cannot slip
through; short commands (`run_command`: gpgconf stopping an agent, umount) are not refused, because
the cleanup after a stop needs them, and their timeout bounds them anyway.

A job may also have its children written down while they live (`watch`, the job's leftovers):
a job killed with SIGKILL leaves its children running (a pg_restore from a scratch file goes on
for hours), and the next job's sweep stops them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Callable
from typing import Any, Protocol, TypeAlias

Child: TypeAlias = "subprocess.Popen[Any]"


class ChildWatcher(Protocol):
    """Told of every child while it lives (the job's leftovers write each one down)."""

    def started(self, pid: int) -> Callable[[], None]:
        """Note a child that has just started; return what forgets it once it is reaped."""


class ChildRegistry:
    """Live children by pid, and whether new ones must be killed at once (the job is stopping)."""

    def __init__(self) -> None:
        self._live: dict[int, Child] = {}
        self._refusing = False
        self._watcher: ChildWatcher | None = None
        self._forget: dict[int, Callable[[], None]] = {}

    def watch(self, watcher: ChildWatcher | None) -> None:
        """Tell `watcher` of every child from now on (None: stop telling)."""
        self._watcher = watcher

    def register(self, process: Child, *, refusable: bool = True) -> None:
        """Remember a child that has just started.

        A `refusable` child is killed at once when the job is stopping (see `kill_all`).
        """
        self._live[process.pid] = process
        # Checked after the insertion: kill_all sets the flag before its snapshot, so a child is
        # either in the snapshot or sees the flag.
        if refusable and self._refusing:
            _signal(process, signal.SIGKILL)
        watcher = self._watcher
        if watcher is not None:
            self._forget[process.pid] = watcher.started(process.pid)

    def accept_new(self) -> None:
        """Stop refusing new children: a new job starts (in-process hosts and tests)."""
        self._refusing = False

    def unregister(self, process: Child) -> None:
        """Forget a child that has been reaped."""
        self._live.pop(process.pid, None)
        forget = self._forget.pop(process.pid, None)
        if forget is not None:
            forget()

    def live_pids(self) -> list[int]:
        """Return the pids of the registered children, for tests and logs."""
        return sorted(self._live.copy())

    def kill_all(self, sig: int = signal.SIGKILL, *, refuse_new: bool = False) -> int:
        """Send `sig` to every registered child; return how many were signalled.

        Safe in a signal handler: it takes no lock and never waits. The children are reaped by
        the code that started them (their pipelines then end with a failure). With `refuse_new`
        every refusable child (a stream's) registered from now on is killed as soon as it starts.
        """
        if refuse_new:
            self._refusing = True
        signalled = 0
        for process in self._live.copy().values():
            signalled += _signal(process, sig)
        return signalled


def _signal(process: Child, sig: int) -> int:
    # A child not yet reaped keeps its pid (a zombie still holds it), so the pid cannot belong to
    # another process; returncode is set once the child has been reaped.
    if process.returncode is not None:
        return 0
    # os.kill rather than Popen.send_signal, which may reap the child inside a signal handler.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(process.pid, sig)
        return 1
    return 0


CHILDREN = ChildRegistry()
"""The registry of every child this package starts."""


def kill_all(sig: int = signal.SIGKILL, *, refuse_new: bool = False) -> int:
    """Send `sig` to every live child of this package; see `ChildRegistry.kill_all`."""
    return CHILDREN.kill_all(sig, refuse_new=refuse_new)
