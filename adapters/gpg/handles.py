"""What the signing adapters share: the handles still open, and a throw-away keyring to load into.

`OpenHandles` remembers every handle a loader gave out until it is closed, for the loader's
`close_all` (the end point's last guard); `read_key_file` reads `[signing] key_file` under its
permission rule. Used by adapters/gpg/signing.py and adapters/gpg/verifying.py.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from adapters.gpg.keyring import ThrowAwayKeyring
from adapters.process.leftovers import Leftovers
from domain.models.redaction import Redactor
from ports.errors import LtsError, SigningError

_OPEN_TO_OTHERS = stat.S_IRWXG | stat.S_IRWXO


class Closable(Protocol):
    """A handle that can be closed (twice, safely)."""

    def close(self) -> None:
        """Release what the handle holds."""


H = TypeVar("H", bound=Closable)
K = TypeVar("K", bound=ThrowAwayKeyring)


class OpenHandles(Generic[H]):
    """The handles given out and not closed yet."""

    def __init__(self) -> None:
        # Single-key updates and copy() of a dict are atomic: no lock for close_all to wait on.
        self._open: dict[int, H] = {}

    def add(self, handle: H) -> H:
        """Remember `handle` until it is forgotten."""
        self._open[id(handle)] = handle
        return handle

    def forget(self, handle: H) -> None:
        """Forget a handle that was closed."""
        self._open.pop(id(handle), None)

    def close_all(self) -> None:
        """Close every handle still open."""
        for handle in self._open.copy().values():
            handle.close()


def new_keyring(
    kind: Callable[[Path, Redactor, str, Leftovers | None], K],
    work_root: Path,
    redactor: Redactor,
    gpg_binary: str,
    what: str,
    leftovers: Leftovers | None = None,
) -> K:
    """Make a throw-away keyring of `kind` under `work_root` for `what`.

    It is claimed in the job's `leftovers` before it is made, so that the next job removes it
    (and stops its agent) should this one be killed (SPEC 15).

    Raises:
        SigningError: the gpg binary is missing or the directory cannot be made.
    """
    try:
        return kind(work_root, redactor, gpg_binary, leftovers)
    except (LtsError, OSError) as exc:
        raise SigningError(f"cannot make a keyring for {what}: {exc}") from None


def read_key_file(path: Path) -> bytes:
    """Read `[signing] key_file`, refusing a file that group or others may use (or not a file)."""
    what = f"[signing] key_file {path}"
    try:
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            raise SigningError(f"{what} is not a regular file")
        if mode & _OPEN_TO_OTHERS:
            raise SigningError(
                f"{what} is open to group or others (mode {stat.S_IMODE(mode):o}); "
                f"refusing to use it: chmod 600 {path}"
            )
        return path.read_bytes()
    except OSError as exc:
        raise SigningError(f"{what} cannot be read: {exc.strerror or exc}") from None
