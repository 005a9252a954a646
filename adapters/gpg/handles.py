"""What the gpg loaders share: the handles they give out, and the throw-away keyrings behind them.

`KeyringHandle` is the part of every loaded handle (recipients, decryption keys, signing key,
trusted keys) that owns its keyring until `close`; `OpenHandles` remembers every handle a loader
gave out until it is closed, for the loader's `close_all` (the end point's last guard);
`disposed_on_failure` removes a keyring whose loading fails. `new_keyring` and `read_key_file`
serve the signing adapters (adapters/gpg/signing.py and adapters/gpg/verifying.py).
"""

from __future__ import annotations

import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Generic, Protocol, Self, TypeVar

from adapters.gpg.keyring import ThrowAwayKeyring
from adapters.process.leftovers import Leftovers
from domain.models.redaction import Redactor
from ports.errors import EncryptionError, LtsError, SigningError

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


class KeyringHandle(Generic[K]):
    """A loaded handle that owns a throw-away keyring until `close`.

    `on_close` tells the loader (its OpenHandles) that the handle is closed.
    """

    _on_close: Callable[[Self], None]

    def __init__(self, keyring: K, on_close: Callable[[Self], None] = lambda _: None) -> None:
        self._keyring = keyring
        self._on_close = on_close
        self._closed = False

    @property
    def homedir(self) -> Path:
        """Return the throw-away GNUPGHOME (gone once closed)."""
        return self._keyring.homedir

    def close(self: Self) -> None:
        """Stop any agent of the keyring and remove the keyring; safe to call twice."""
        self._closed = True
        self._keyring.dispose()
        self._on_close(self)


@contextmanager
def disposed_on_failure(
    keyring: ThrowAwayKeyring, error: Callable[[str], Exception] | None = None
) -> Iterator[None]:
    """Dispose of `keyring` when the block raises, and raise on.

    With `error`, an EncryptionError (a gpg command that could not run, from
    ThrowAwayKeyring.run, or a key it refused) is raised as `error` of the same text instead.
    """
    try:
        yield
    except EncryptionError as exc:
        keyring.dispose()
        if error is None:
            raise
        raise error(str(exc)) from None
    except BaseException:
        keyring.dispose()
        raise


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
