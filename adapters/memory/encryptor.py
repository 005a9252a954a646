"""InMemoryEncryptor: a reversible stand-in for gpg with failure switches."""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator
from datetime import datetime

from ports.encryptor import Encryptor, RecipientInfo
from ports.errors import EncryptionError, KeyMismatchError

HEADER = b"ENC:"


class InMemoryEncryptor(Encryptor):
    """'Encrypts' by prefixing each chunk with `ENC:`; `decrypt` undoes it.

    `key_names` are the names the loaded key answers to; `fail` makes encryption raise at the end
    of a stream; `dispose_error` makes `dispose` fail; `expires` and `escrow_expires` are the
    keys' expiry times reported by `load_recipients`. `disposed` tells whether `dispose` ran.
    """

    def __init__(
        self,
        *,
        key_names: Iterable[str] = ("acme",),
        fail: bool = False,
        dispose_error: Exception | None = None,
        expires: datetime | None = None,
        escrow_expires: datetime | None = None,
    ) -> None:
        self.key_names = set(key_names)
        self.expires = expires
        self.escrow_expires = escrow_expires
        self.fail = fail
        self.dispose_error = dispose_error
        self.loaded: RecipientInfo | None = None
        self.disposed = False

    def load_recipients(
        self, public_key: bytes, key_name: str, escrow_key: bytes | None = None
    ) -> RecipientInfo:
        """Accept the key when `key_name` is one of `key_names`."""
        if key_name not in self.key_names:
            raise KeyMismatchError(f"the public key does not match key-name {key_name!r}")
        self.loaded = RecipientInfo(
            key_name=key_name,
            fingerprint="F" * 40,
            user_ids=tuple(sorted(self.key_names)),
            escrow_fingerprint="E" * 40 if escrow_key else None,
            expires=self.expires,
            escrow_expires=self.escrow_expires if escrow_key else None,
        )
        return self.loaded

    def encrypt(self, plain: Iterator[bytes] | Iterable[bytes]) -> Generator[bytes, None, None]:
        """Yield `ENC:` + chunk for every chunk."""
        if self.loaded is None:
            raise EncryptionError("no recipients loaded")
        for chunk in plain:
            yield HEADER + chunk
        if self.fail:
            raise EncryptionError("gpg failed: encryption broken")

    def dispose(self) -> None:
        """Forget the key, or raise `dispose_error`."""
        self.loaded = None
        self.disposed = True
        if self.dispose_error is not None:
            raise self.dispose_error

    @staticmethod
    def decrypt(data: bytes) -> bytes:
        """Undo `encrypt` on stored data."""
        return b"".join(part for part in data.split(HEADER) if part)
