"""The Encryptor port: OpenPGP encryption to the client's public key."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ports.streams import ByteStream


@dataclass(frozen=True, slots=True)
class RecipientInfo:
    """The keys a run encrypts to: the client's key and an optional escrow key.

    `expires` and `escrow_expires` are when the keys stop encrypting (the primary key's or the
    last usable encryption subkey's expiry, whichever comes first); None means never.
    """

    key_name: str
    fingerprint: str
    user_ids: tuple[str, ...]
    escrow_fingerprint: str | None = None
    expires: datetime | None = None
    escrow_expires: datetime | None = None


class Recipients(Protocol):
    """Loaded public keys: encrypt streams to them until `close`.

    `encrypt` returns a stream that raises EncryptionError at its end when encryption failed,
    and re-raises the plain stream's own error (a DumpError) as it is; closing it early stops the
    encryption and closes `plain`. Several streams may be encrypted at once, from several
    threads. `close` removes every key material the recipients hold; it is safe to call twice.
    """

    @property
    @abstractmethod
    def info(self) -> RecipientInfo:
        """Return the loaded keys' fingerprints, user ids and expiry."""

    @abstractmethod
    def encrypt(self, plain: Iterable[bytes]) -> ByteStream:
        """Stream the encryption of `plain`."""

    @abstractmethod
    def close(self) -> None:
        """Remove the throw-away keyring."""


class Encryptor(Protocol):
    """Load a client's OpenPGP public key (and an escrow key) for encryption."""

    @abstractmethod
    def load(self, public_key: bytes, key_name: str, escrow_key: bytes | None = None) -> Recipients:
        """Import the public key(s) and check them against `key_name`.

        `key_name` is a user id name, e-mail local part, e-mail, or the fingerprint; a key that
        does not match raises KeyMismatchError, a key that is not one usable OpenPGP public key
        raises EncryptionError. Nothing is left behind when it raises.
        """

    @abstractmethod
    def close_all(self) -> None:
        """Close every Recipients this encryptor loaded that is still open (a last guard)."""
