"""The Decryptor port: OpenPGP decryption with the client's private key (restore, verify)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from pydantic import SecretStr

from ports.errors import LtsError


class DecryptionError(LtsError):
    """The private key cannot be loaded or unlocked, or a stream does not decrypt."""


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """The private key now loaded: its primary fingerprint and user ids."""

    fingerprint: str
    user_ids: tuple[str, ...]


class Decryptor(Protocol):
    """Stream decryption with one client's private key, held only for one job.

    `load_key` must be called first: it imports the (armoured) private key into a throw-away
    keyring and checks that the passphrase unlocks it, raising DecryptionError with a one-line,
    secret-free message otherwise. The passphrase never reaches a command line, an environment,
    a log or an error text. `decrypt` returns a generator that raises DecryptionError at the end
    when the stream did not decrypt (wrong key, damaged or manipulated data); closing it early
    stops the decryption and closes `cipher`. `dispose` removes every trace of the key; it is safe
    to call twice.
    """

    @abstractmethod
    def load_key(self, private_key: bytes, passphrase: SecretStr) -> KeyInfo:
        """Import the private key and check that `passphrase` unlocks it."""

    @abstractmethod
    def decrypt(self, cipher: Iterator[bytes] | Iterable[bytes]) -> Generator[bytes, None, None]:
        """Stream the decryption of `cipher`."""

    @abstractmethod
    def dispose(self) -> None:
        """Remove the throw-away keyring and stop anything bound to it."""
