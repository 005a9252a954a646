"""The Signer port: the operator's signing key, which signs every run's manifest (SPEC 14)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class SigningKeyInfo:
    """The loaded signing key: its primary fingerprint, user ids and when it stops signing.

    `expires` is the primary key's or the last usable signing subkey's expiry, whichever comes
    first; None means never.
    """

    fingerprint: str
    user_ids: tuple[str, ...]
    expires: datetime | None = None


class SigningKey(Protocol):
    """A loaded signing key: make detached signatures with it until `close`.

    `sign` may be called from several threads at once. `close` removes every trace of the key
    material the handle holds; it is safe to call twice.
    """

    @property
    @abstractmethod
    def info(self) -> SigningKeyInfo:
        """Return the key's fingerprint, user ids and expiry."""

    @abstractmethod
    def sign(self, data: Iterable[bytes]) -> bytes:
        """Return a detached, armoured OpenPGP signature of `data` (streamed).

        Raises SigningError when gpg cannot sign; `data`'s own error is re-raised as it is.
        """

    @abstractmethod
    def close(self) -> None:
        """Remove the throw-away keyring holding the key."""


class Signer(Protocol):
    """Load the configured signing key (the master config's `[signing] key_file`).

    The key has no passphrase and is held only for one job, in a keyring of its own (never the
    user's). A key file that group or others may read is refused.
    """

    @abstractmethod
    def load(self) -> SigningKey:
        """Load the signing key and prove that it signs.

        Raises SigningError with a one-line, secret-free reason otherwise (missing file, open
        permissions, not exactly one secret key, protected by a passphrase, expired or revoked,
        no signing capability); nothing is left behind when it raises.
        """

    @abstractmethod
    def close_all(self) -> None:
        """Close every SigningKey this signer loaded that is still open (a last guard)."""
