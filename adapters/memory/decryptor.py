"""InMemoryDecryptor: undoes InMemoryEncryptor, with failure switches."""

from __future__ import annotations

from collections.abc import Generator, Iterable

from pydantic import SecretStr

from adapters.memory.encryptor import HEADER, InMemoryEncryptor
from domain.models.restore_config import KeyPassphrases
from ports.decryptor import DecryptionKeys, Decryptor, KeyInfo
from ports.errors import DecryptionError


class InMemoryDecryptionKeys(DecryptionKeys):
    """A loaded 'private key': it decrypts what InMemoryEncryptor made, until closed."""

    def __init__(self, decryptor: InMemoryDecryptor) -> None:
        self._decryptor = decryptor
        self.closed = False

    @property
    def info(self) -> KeyInfo:
        """Return the made-up key facts."""
        return KeyInfo(fingerprint="F" * 40, user_ids=("acme",))

    def decrypt(self, cipher: Iterable[bytes]) -> Generator[bytes, None, None]:
        """Yield the plaintext of a whole in-memory 'encrypted' stream."""
        if self.closed:
            raise DecryptionError("no private key loaded")
        data = b"".join(cipher)
        if not data.startswith(HEADER):
            raise DecryptionError("gpg failed to decrypt: no valid OpenPGP data found")
        yield InMemoryEncryptor.decrypt(data)
        if self._decryptor.fail:
            raise DecryptionError("gpg failed to decrypt: decryption failed: Bad session key")

    def close(self) -> None:
        """Forget the key, or raise the decryptor's `close_error`."""
        if self.closed:
            return
        self.closed = True
        self._decryptor.disposals += 1
        self._decryptor.open.remove(self)
        if self._decryptor.close_error is not None:
            raise self._decryptor.close_error


class InMemoryDecryptor(Decryptor):
    """Loads any key whose passphrase is `passphrase` (another raises DecryptionError).

    `fail` makes every decryption raise at the end of its stream; `close_error` makes closing
    the keys fail. `loads` counts loaded keys, `disposals` closed ones; `loaded` tells whether a
    key is loaded now.
    """

    def __init__(
        self,
        *,
        passphrase: str = "key-passphrase",  # noqa: S107 - a test double's expected value
        fail: bool = False,
        close_error: Exception | None = None,
    ) -> None:
        self.passphrase = passphrase
        self.fail = fail
        self.close_error = close_error
        self.loads = 0
        self.disposals = 0
        self.open: list[InMemoryDecryptionKeys] = []
        self.key_counts: list[int] = []
        """How many keys each `load_keys` was given."""

    @property
    def loaded(self) -> bool:
        """Tell whether a loaded key has not been closed yet."""
        return self.loads > self.disposals

    def load(self, private_key: bytes, passphrase: SecretStr) -> InMemoryDecryptionKeys:
        """Accept any key when `passphrase` is the expected one."""
        if passphrase.get_secret_value() != self.passphrase:
            raise DecryptionError("the private-key-passphrase does not unlock the private key")
        self.loads += 1
        keys = InMemoryDecryptionKeys(self)
        self.open.append(keys)
        return keys

    def load_keys(self, private_keys: bytes, passphrases: KeyPassphrases) -> InMemoryDecryptionKeys:
        """Accept the keys (one per armoured block) when every passphrase is the expected one."""
        count = max(1, private_keys.count(b"-----BEGIN PGP PRIVATE KEY BLOCK-----"))
        try:
            each = passphrases.for_keys(count)
        except ValueError as exc:
            raise DecryptionError(str(exc)) from None
        for passphrase in each[1:]:
            if passphrase.get_secret_value() != self.passphrase:
                raise DecryptionError("a private-key-passphrase does not unlock its private key")
        self.key_counts.append(count)
        return self.load(private_keys, each[0])

    def close_all(self) -> None:
        """Close every loaded key still open."""
        for keys in list(self.open):
            keys.close()
