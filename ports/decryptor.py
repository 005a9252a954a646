"""The Decryptor port: OpenPGP decryption with the client's private key (restore, verify)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from pydantic import SecretStr

from domain.models.restore_config import KeyPassphrases
from ports.streams import ByteStream


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A private key now loaded: its primary fingerprint, user ids and (sub)key fingerprints.

    `key_ids` are the fingerprints of the primary key and every subkey: what a message names
    as its recipients (as a long key id, their last 16 hex digits).
    """

    fingerprint: str
    user_ids: tuple[str, ...]
    key_ids: tuple[str, ...] = ()


class DecryptionKeys(Protocol):
    """Loaded private keys: decrypt streams with them until `close`.

    Holding several keys, `decrypt` uses the one the stream is encrypted to (read from the
    message's first packets), so runs from before and after a key change both open; `info`
    then describes the first key.

    `decrypt` returns a stream that raises DecryptionError at its end when the stream did not
    decrypt (wrong key, damaged or manipulated data); closing it early stops the decryption and
    closes `cipher`. `close` removes every trace of the keys; it is safe to call twice.
    """

    @property
    @abstractmethod
    def info(self) -> KeyInfo:
        """Return the loaded key's fingerprint and user ids."""

    @abstractmethod
    def decrypt(self, cipher: Iterable[bytes]) -> ByteStream:
        """Stream the decryption of `cipher`."""

    @abstractmethod
    def close(self) -> None:
        """Remove the throw-away keyring and stop anything bound to it."""


class Decryptor(Protocol):
    """Load one client's private key, held only for one job.

    The passphrase never reaches a command line, an environment, a log or an error text.
    """

    @abstractmethod
    def load(self, private_key: bytes, passphrase: SecretStr) -> DecryptionKeys:
        """Import the (armoured) private key and check that `passphrase` unlocks it.

        Raises DecryptionError with a one-line, secret-free message otherwise; nothing is left
        behind when it raises.
        """

    @abstractmethod
    def load_keys(self, private_keys: bytes, passphrases: KeyPassphrases) -> DecryptionKeys:
        """Import every secret key in `private_keys` and check that each passphrase unlocks it.

        `private_keys` is one armoured (or binary) export of one or more secret keys, or
        several exports one after the other; `passphrases` gives the keys' passphrases in
        their order. Raises DecryptionError with a one-line, secret-free message naming the
        key that failed; nothing is left behind when it raises.
        """

    @abstractmethod
    def close_all(self) -> None:
        """Close every DecryptionKeys this decryptor loaded that is still open (a last guard)."""
