"""The Lock port on `flock(2)`: one run per client on this host.

The kernel drops an flock when its holder's file descriptor closes, also when the holder is
killed with SIGKILL, so a killed run never blocks the next one and no stale-lock clean-up is
needed. Tested with a real child process in tests/integration/test_lock.py.
"""

from __future__ import annotations

import fcntl
import os
import re
import socket
from pathlib import Path

from adapters.os.paths import PRIVATE_FILE_MODE, check_component, make_private_dirs
from ports.clock import Clock
from ports.errors import ConfigError, LockHeldError
from ports.lock import Lock

_HOLDER = re.compile(r"pid=(?P<pid>\S+) since=(?P<since>\S+)")
_MAX_HOLDER_LINE = 4096


class FlockLock(Lock):
    """Holds `<lock_root>/<client>.lock` with an exclusive, non-blocking flock.

    The lock file holds `pid=<pid> since=<ISO time> host=<host name>` of the holder, so a refused
    run can say who holds it. Lock files are never deleted: deleting one while another process
    opens it would let two processes lock two different files of the same name.
    """

    def __init__(self, lock_root: Path, clock: Clock) -> None:
        self.lock_root = lock_root
        self.clock = clock
        self._fd: int | None = None
        self._client: str | None = None

    @property
    def held(self) -> bool:
        """Tell whether this object holds a lock now."""
        return self._fd is not None

    def acquire(self, client: str) -> None:
        """Take the lock for `client` or raise LockHeldError naming the holder's pid and start.

        Raises:
            LockHeldError: Another process (or another FlockLock) holds the lock.
            ConfigError: The lock file cannot be created or opened.
            RuntimeError: This object already holds a lock (release it first).
        """
        if self._fd is not None:
            raise RuntimeError(f"this lock already holds the lock for {self._client}")
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
            holder = _describe_holder(os.pread(fd, _MAX_HOLDER_LINE, 0))
            os.close(fd)
            raise LockHeldError(f"another run for {client} is in progress ({holder})") from None
        except BaseException:
            os.close(fd)
            raise
        try:
            # Truncate only now that the lock is ours: the previous holder's line stays readable
            # to refused runs until then.
            os.ftruncate(fd, 0)
            since = self.clock.now().isoformat(timespec="seconds")
            line = f"pid={os.getpid()} since={since} host={socket.gethostname()}\n"
            os.pwrite(fd, line.encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self._client = client

    def release(self) -> None:
        """Unlock and close the lock file if held; a no-op otherwise. The file stays."""
        fd, self._fd, self._client = self._fd, None, None
        if fd is None:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def _describe_holder(content: bytes) -> str:
    """Return "pid N, since T" from a lock file's content, or say the holder is unknown."""
    match = _HOLDER.search(content.decode("utf-8", errors="replace"))
    if match is None:
        # The holder has locked but not yet written its line (or the file was edited by hand).
        return "pid unknown, since unknown"
    return f"pid {match['pid']}, since {match['since']}"
