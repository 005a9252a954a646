"""InMemoryEncryptor: a reversible stand-in for gpg with failure switches."""

from __future__ import annotations

from collections.abc import Generator, Iterable
from datetime import datetime

from ports.encryptor import Encryptor, RecipientInfo, Recipients
from ports.errors import EncryptionError, KeyMismatchError

HEADER = b"ENC:"


class InMemoryRecipients(Recipients):
    """Loaded 'keys': encryption prefixes each chunk with `ENC:` until closed."""

    def __init__(self, encryptor: InMemoryEncryptor, info: RecipientInfo) -> None:
        self._encryptor = encryptor
        self._info = info
        self.closed = False

    @property
    def info(self) -> RecipientInfo:
        """Return the made-up key facts."""
        return self._info

    def encrypt(self, plain: Iterable[bytes]) -> Generator[bytes, None, None]:
        """Yield `ENC:` + chunk for every chunk; raise at the end when `fail` is set."""
        if self.closed:
            raise EncryptionError("the recipients were closed")
        try:
            for chunk in plain:
                yield HEADER + chunk
        finally:
            # The port closes the plain stream when the encryption ends, early or not.
            close = getattr(plain, "close", None)
            if callable(close):
                close()
        if self._encryptor.fail:
            raise EncryptionError("gpg failed: encryption broken")

    def close(self) -> None:
        """Forget the keys, or raise the encryptor's `close_error`."""
        if self.closed:
            return
        self.closed = True
        self._encryptor.closes += 1
        self._encryptor.open.remove(self)
        if self._encryptor.close_error is not None:
            raise self._encryptor.close_error


class InMemoryEncryptor(Encryptor):
    """'Encrypts' by prefixing each chunk with `ENC:`; `decrypt` undoes it.

    `key_names` are the names the loaded key answers to; `fail` makes encryption raise at the end
    of a stream; `close_error` makes closing the recipients fail; `expires` and `escrow_expires`
    are the keys' expiry times; `fingerprint` is the loaded key's. `loads` and `closes` count
    loaded and closed recipients.
    """

    def __init__(
        self,
        *,
        key_names: Iterable[str] = ("acme",),
        fail: bool = False,
        close_error: Exception | None = None,
        expires: datetime | None = None,
        escrow_expires: datetime | None = None,
        fingerprint: str = "F" * 40,
    ) -> None:
        self.key_names = set(key_names)
        self.fingerprint = fingerprint
        self.expires = expires
        self.escrow_expires = escrow_expires
        self.fail = fail
        self.close_error = close_error
        self.loads = 0
        self.closes = 0
        self.open: list[InMemoryRecipients] = []

    @property
    def disposed(self) -> bool:
        """Tell whether keys were loaded and every loaded set has been closed again."""
        return self.loads > 0 and self.closes == self.loads

    def load(
        self, public_key: bytes, key_name: str, escrow_key: bytes | None = None
    ) -> InMemoryRecipients:
        """Accept the key when `key_name` is one of `key_names`."""
        if key_name not in self.key_names:
            raise KeyMismatchError(f"the public key does not match key-name {key_name!r}")
        self.loads += 1
        info = RecipientInfo(
            key_name=key_name,
            fingerprint=self.fingerprint,
            user_ids=tuple(sorted(self.key_names)),
            escrow_fingerprint="E" * 40 if escrow_key else None,
            expires=self.expires,
            escrow_expires=self.escrow_expires if escrow_key else None,
        )
        recipients = InMemoryRecipients(self, info)
        self.open.append(recipients)
        return recipients

    def close_all(self) -> None:
        """Close every loaded recipients still open."""
        for recipients in list(self.open):
            recipients.close()

    @staticmethod
    def decrypt(data: bytes) -> bytes:
        """Undo `encrypt` on stored data."""
        return b"".join(part for part in data.split(HEADER) if part)
