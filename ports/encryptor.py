"""The Encryptor port: OpenPGP encryption to the client's public key."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


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


class Encryptor(Protocol):
    """Stream encryption to one client's OpenPGP key (and an escrow key).

    `load_recipients` must be called first; it checks that the key matches `key_name` (a user id
    name, e-mail local part, e-mail, or the fingerprint) and raises KeyMismatchError otherwise.
    `encrypt` returns a generator that raises EncryptionError at the end when encryption failed;
    closing it early stops the encryption and closes `plain`. `dispose` removes every key material
    the encryptor created; it is safe to call twice.
    """

    @abstractmethod
    def load_recipients(
        self, public_key: bytes, key_name: str, escrow_key: bytes | None = None
    ) -> RecipientInfo:
        """Import the public key(s) and check them against `key_name`."""

    @abstractmethod
    def encrypt(self, plain: Iterator[bytes] | Iterable[bytes]) -> Generator[bytes, None, None]:
        """Stream the encryption of `plain`."""

    @abstractmethod
    def dispose(self) -> None:
        """Remove the throw-away keyring."""
