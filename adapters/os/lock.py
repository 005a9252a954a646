"""The Lock port on `flock(2)`: one run per client on this host.

The kernel drops an flock when its holder's file descriptor closes, also when the holder is
killed with SIGKILL, so a killed run never blocks the next one and no stale-lock clean-up is
needed. Tested with real child processes in tests/integration/test_lock.py and against the Lock
contract in tests/contract/test_lock.py.
"""

from __future__ import annotations

import fcntl
import os
import re
import socket
import threading
import time
from pathlib import Path

from adapters.os.paths import PRIVATE_FILE_MODE, check_component, make_private_dirs
from adapters.process.identity import pid_exists
from ports.clock import Clock
from ports.errors import ConfigError, LockHeldError
from ports.lock import HeldLock, Lock

_HOLDER = re.compile(r"pid=(?P<pid>\d+) since=(?P<since>\S+)")
_MAX_HOLDER_LINE = 4096
_HOLDER_WAIT_SECONDS = 1.0
"""How long a refused run waits for a new holder to write its line."""


class HeldFlock(HeldLock):
    """One client's lock file, open and flocked until `release`.

    Attributes:
        client: whose lock this is.
        path: the lock file (it stays after release; see FlockLock).
    """

    def __init__(self, client: str, path: Path, fd: int) -> None:
        self.client = client
        self.path = path
        self._fd: int | None = fd
        self._releasing = threading.Lock()

    @property
    def held(self) -> bool:
        """Tell whether this handle still holds the lock."""
        return self._fd is not None

    def release(self) -> None:
        """Unlock and close the lock file; a second call does nothing. The file stays."""
        # A signal handler (issue 12) may release while the main thread does too.
        with self._releasing:
            fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


class FlockLock(Lock):
    """Take `<lock_root>/<client>.lock` with an exclusive, non-blocking flock.

    The lock file holds `pid=<pid> since=<ISO time> host=<host name>` of the holder, so a refused
    run can say who holds it. Lock files are never deleted: deleting one while another process
    opens it would let two processes lock two different files of the same name. The object keeps
    no state of a run: each `acquire` returns the handle that holds the lock, and a second
    `acquire` of a held client is refused even through the same FlockLock (flocks belong to open
    files, not to processes).

    Args:
        lock_root: `[paths] lock_root`; created (0700) when missing.
        clock: the time written as `since=`.
    """

    def __init__(self, lock_root: Path, clock: Clock) -> None:
        self.lock_root = lock_root
        self.clock = clock

    def acquire(self, client: str) -> HeldFlock:
        """Take the lock for `client` or raise LockHeldError naming the holder's pid and start.

        Raises:
            LockHeldError: Another holder (in this process or another) has the lock.
            ConfigError: The client name is not one safe path component, or the lock file
                cannot be created or opened.
        """
        check_component(client, "client name")
        path = self.lock_root / f"{client}.lock"
        try:
            make_private_dirs(self.lock_root)
            fd = os.open(
                path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, PRIVATE_FILE_MODE
            )
        except OSError as exc:
            # A wrong `[paths] lock_root` or its permissions: an operator's fix, not a traceback.
            raise ConfigError(f"cannot open the lock file {path} ({exc.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _wait_for_holder(fd)
            os.close(fd)
            raise LockHeldError(f"another run for {client} is in progress ({holder})") from None
        except BaseException:
            os.close(fd)
            raise
        try:
            # Overwrite, then cut to length: the file never reads empty, so a refused run sees
            # the previous holder's line or ours (see _wait_for_holder).
            since = self.clock.now().isoformat(timespec="seconds")
            line = f"pid={os.getpid()} since={since} host={socket.gethostname()}\n".encode()
            os.pwrite(fd, line, 0)
            os.ftruncate(fd, len(line))
        except BaseException:
            os.close(fd)
            raise
        return HeldFlock(client, path, fd)


def _wait_for_holder(fd: int) -> str:
    """Describe the holder, waiting briefly while the file still names a process that is gone.

    A holder that has just taken the lock may not have written its line yet, so the file can
    still name the previous holder; a live pid settles it.
    """
    deadline = time.monotonic() + _HOLDER_WAIT_SECONDS
    while True:
        content = os.pread(fd, _MAX_HOLDER_LINE, 0)
        match = _HOLDER.search(content.decode("utf-8", errors="replace"))
        if (match and pid_exists(int(match["pid"]))) or time.monotonic() >= deadline:
            return _describe_holder(content)
        time.sleep(0.02)


def _describe_holder(content: bytes) -> str:
    """Return "pid N, since T" from a lock file's content, or say the holder is unknown."""
    match = _HOLDER.search(content.decode("utf-8", errors="replace"))
    if match is None:
        # The holder has locked but not yet written its line (or the file was edited by hand).
        return "pid unknown, since unknown"
    return f"pid {match['pid']}, since {match['since']}"
