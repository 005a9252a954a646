"""GpgEncryptor: OpenPGP encryption through the `gpg` binary (SPEC section 9).

Each encryptor owns a throw-away GNUPGHOME under the work root holding only the client's public
key and the optional escrow key; dumps stream through `gpg --encrypt` (AES-256, no compression,
`--trust-model always`), so any standard OpenPGP tool with the private key can decrypt them.
Tested against the real gpg in tests/integration/test_gpg_encryptor.py.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator
from pathlib import Path

from adapters.gpg.keyring import ThrowAwayKeyring, one_line
from adapters.gpg.matching import key_matches
from adapters.gpg.stream import filter_through
from domain.models.redaction import Redactor
from ports.encryptor import Encryptor, RecipientInfo
from ports.errors import EncryptionError, KeyMismatchError

DEFAULT_CHUNK_SIZE = 1024 * 1024


class GpgEncryptor(Encryptor):
    """Encrypt streams to one client's public key (and an escrow key) with the gpg binary.

    Nothing touches the user's keyring: keys are imported into a private directory that `dispose`
    removes. gpg's diagnostics are masked with the shared redactor before they reach an error.
    """

    def __init__(
        self,
        work_root: Path,
        redactor: Redactor,
        gpg_binary: str = "gpg",
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        self._work_root = work_root
        self._redactor = redactor
        self._gpg_binary = gpg_binary
        self._chunk_size = chunk_size
        self._keyring: ThrowAwayKeyring | None = None
        self._recipients: RecipientInfo | None = None

    @property
    def homedir(self) -> Path | None:
        """Return the current throw-away GNUPGHOME, if one exists."""
        return self._keyring.homedir if self._keyring else None

    def load_recipients(
        self, public_key: bytes, key_name: str, escrow_key: bytes | None = None
    ) -> RecipientInfo:
        """Import the client's key (and the escrow key) and check it answers to `key_name`.

        Raises:
            KeyMismatchError: no user id part nor the fingerprint matches `key_name`.
            EncryptionError: a key is not one usable OpenPGP public key.
        """
        self.dispose()
        keyring = ThrowAwayKeyring(self._work_root, self._redactor, self._gpg_binary)
        self._keyring = keyring
        try:
            client = keyring.import_public_key(public_key, "the public key")
            if not key_matches(key_name, client.fingerprint, client.user_ids):
                user_ids = ", ".join(repr(uid) for uid in client.user_ids) or "none"
                raise KeyMismatchError(
                    f"the public key (fingerprint {client.fingerprint}, user ids {user_ids}) "
                    f"does not match key-name {key_name!r}"
                )
            escrow = keyring.import_public_key(escrow_key, "the escrow key") if escrow_key else None
        except BaseException:
            self.dispose()
            raise
        self._recipients = RecipientInfo(
            key_name=key_name,
            fingerprint=client.fingerprint,
            user_ids=client.user_ids,
            escrow_fingerprint=escrow.fingerprint if escrow else None,
            expires=client.expires,
            escrow_expires=escrow.expires if escrow else None,
        )
        return self._recipients

    def encrypt(self, plain: Iterator[bytes] | Iterable[bytes]) -> Generator[bytes, None, None]:
        """Yield the OpenPGP message encrypting `plain`, streaming.

        An exception raised by `plain` (a DumpError from pg_dump) propagates as it is, gpg's own
        failure becomes an EncryptionError at the end of the stream.
        """
        keyring, recipients = self._keyring, self._recipients
        if keyring is None or recipients is None:
            raise EncryptionError("no recipients loaded: load_recipients must run before encrypt")
        argv = keyring.argv(
            "--yes",
            "--trust-model",
            "always",
            "--compress-algo",
            "none",
            "--cipher-algo",
            "AES256",
            "--encrypt",
            "--recipient",
            recipients.fingerprint,
        )
        if recipients.escrow_fingerprint:
            argv += ["--recipient", recipients.escrow_fingerprint]
        argv += ["--output", "-"]

        def failure(returncode: int, stderr: bytes) -> EncryptionError:
            return EncryptionError(
                f"gpg failed to encrypt (exit {returncode}): {one_line(stderr, self._redactor)}"
            )

        yield from filter_through(argv, keyring.child_env, plain, self._chunk_size, failure)

    def dispose(self) -> None:
        """Remove the throw-away keyring (and stop an agent bound to it); safe to call twice."""
        keyring, self._keyring, self._recipients = self._keyring, None, None
        if keyring is not None:
            keyring.dispose()
