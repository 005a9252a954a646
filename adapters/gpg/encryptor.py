"""GpgEncryptor: OpenPGP encryption through the `gpg` binary (SPEC section 9).

`load` imports the client's public key (and the optional escrow key) into a throw-away GNUPGHOME
under the work root and returns GpgRecipients, which own that keyring until `close`. Streams are
encrypted by `gpg --encrypt` (AES-256, no compression, `--trust-model always`), so any standard
OpenPGP tool with the private key can decrypt them. When the plain stream is a child's output
(pg_dump), gpg reads it directly from that child. Tested against the real gpg in
tests/integration/test_gpg_encryptor.py and tests/contract/test_encryptor.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from adapters.gpg.handles import KeyringHandle, OpenHandles, disposed_on_failure
from adapters.gpg.keyring import ThrowAwayKeyring
from adapters.gpg.matching import key_matches
from adapters.process import (
    CHUNK_SIZE,
    ProcessStream,
    Stage,
    close_source,
    failed_to,
    stream_through,
)
from adapters.process.leftovers import Leftovers
from domain.models.redaction import Redactor
from ports.encryptor import Encryptor, RecipientInfo, Recipients
from ports.errors import EncryptionError, KeyMismatchError

DEFAULT_CHUNK_SIZE = CHUNK_SIZE


_encrypt_failed = failed_to(EncryptionError, "gpg", "encrypt")


class GpgRecipients(KeyringHandle[ThrowAwayKeyring], Recipients):
    """Public keys in a throw-away keyring: encrypt streams to them until `close`.

    gpg's diagnostics are masked with the shared redactor before they reach an error.
    """

    def __init__(
        self,
        keyring: ThrowAwayKeyring,
        info: RecipientInfo,
        redactor: Redactor,
        chunk_size: int,
        on_close: Callable[[GpgRecipients], None] = lambda _: None,
    ) -> None:
        super().__init__(keyring, on_close)
        self._info = info
        self._redactor = redactor
        self._chunk_size = chunk_size

    @property
    def info(self) -> RecipientInfo:
        """Return the loaded keys' fingerprints, user ids and expiry."""
        return self._info

    def encrypt(self, plain: Iterable[bytes]) -> ProcessStream:
        """Return the stream of the OpenPGP message encrypting `plain`; see the Recipients port.

        An error raised by `plain` (a DumpError from pg_dump) is raised as it is; gpg's own
        failure becomes an EncryptionError at the end of the stream.
        """
        if self._closed:
            close_source(plain)
            raise EncryptionError("the recipients were closed")
        argv = self._keyring.argv(
            "--yes",
            "--trust-model",
            "always",
            "--compress-algo",
            "none",
            "--cipher-algo",
            "AES256",
            "--encrypt",
            "--recipient",
            self._info.fingerprint,
        )
        if self._info.escrow_fingerprint:
            argv += ["--recipient", self._info.escrow_fingerprint]
        argv += ["--output", "-"]
        stage = Stage(argv, self._keyring.child_env, "gpg", _encrypt_failed, self._redactor)
        return stream_through(plain, stage, chunk_size=self._chunk_size)


class GpgEncryptor(Encryptor):
    """Load client public keys into throw-away keyrings.

    Nothing touches the user's keyring. Several loaded recipients may live at once; the
    encryptor only remembers which are still open, for `close_all`.
    """

    def __init__(
        self,
        work_root: Path,
        redactor: Redactor,
        gpg_binary: str = "gpg",
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        leftovers: Leftovers | None = None,
    ) -> None:
        self._work_root = work_root
        self._redactor = redactor
        self._gpg_binary = gpg_binary
        self._chunk_size = chunk_size
        self._leftovers = leftovers
        self._open: OpenHandles[GpgRecipients] = OpenHandles()

    def load(
        self, public_key: bytes, key_name: str, escrow_key: bytes | None = None
    ) -> GpgRecipients:
        """Import the client's key (and the escrow key) and check it answers to `key_name`.

        Raises:
            KeyMismatchError: no user id part nor the fingerprint matches `key_name`.
            EncryptionError: a key is not one usable OpenPGP public key.
        """
        try:
            keyring = ThrowAwayKeyring(
                self._work_root, self._redactor, self._gpg_binary, self._leftovers
            )
        except OSError as exc:
            raise EncryptionError(
                f"cannot make a keyring under {self._work_root}: {exc.strerror or exc}"
            ) from None
        with disposed_on_failure(keyring):
            client = keyring.import_public_key(public_key, "the public key")
            if not key_matches(key_name, client.fingerprint, client.user_ids):
                user_ids = ", ".join(repr(uid) for uid in client.user_ids) or "none"
                raise KeyMismatchError(
                    f"the public key (fingerprint {client.fingerprint}, user ids {user_ids}) "
                    f"does not match key-name {key_name!r}"
                )
            escrow = keyring.import_public_key(escrow_key, "the escrow key") if escrow_key else None
        info = RecipientInfo(
            key_name=key_name,
            fingerprint=client.fingerprint,
            user_ids=client.user_ids,
            escrow_fingerprint=escrow.fingerprint if escrow else None,
            expires=client.expires,
            escrow_expires=escrow.expires if escrow else None,
        )
        return self._open.add(
            GpgRecipients(keyring, info, self._redactor, self._chunk_size, self._open.forget)
        )

    def close_all(self) -> None:
        """Close every recipients this encryptor loaded that are still open (a last guard)."""
        self._open.close_all()
