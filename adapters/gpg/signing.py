"""GpgSigner: make detached OpenPGP signatures with the operator's key and the `gpg` binary.

SPEC section 14. The signing key (`[signing] key_file`, an armoured secret key without a
passphrase) is imported into a throw-away GNUPGHOME under the work root, never the user's; its
file must be mode 0600 (or stricter). `sign` makes a detached, armoured signature
(`gpg --detach-sign --armor`) of a stream, checkable by any OpenPGP tool:
`gpg --verify manifest.json.asc manifest.json`. Signatures are checked by
adapters/gpg/verifying.py. Tested against the real gpg in tests/integration/test_signing.py and
tests/contract/test_signing.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

from adapters.gpg.decryptor import SecretKeyring
from adapters.gpg.handles import (
    KeyringHandle,
    OpenHandles,
    disposed_on_failure,
    new_keyring,
    read_key_file,
)
from adapters.gpg.keyring import diagnostics
from adapters.gpg.listing import KeyListing
from adapters.process import Stage, collect, failed_to
from adapters.process.leftovers import Leftovers
from domain.models.redaction import Redactor
from ports.errors import SigningError
from ports.signer import Signer, SigningKey, SigningKeyInfo

PROBE = b"long-term-storage signing probe\n"
_NEEDS_PASSPHRASE = ("No pinentry", "Bad passphrase", "Operation cancelled", "No passphrase")


_sign_failed = failed_to(SigningError, "gpg", "sign")


class GpgSigningKey(KeyringHandle[SecretKeyring], SigningKey):
    """The signing key in a throw-away keyring: sign streams with it until `close`."""

    def __init__(
        self,
        keyring: SecretKeyring,
        info: SigningKeyInfo,
        redactor: Redactor,
        on_close: Callable[[GpgSigningKey], None] = lambda _: None,
    ) -> None:
        super().__init__(keyring, on_close)
        self._info = info
        self._redactor = redactor

    @property
    def info(self) -> SigningKeyInfo:
        """Return the key's fingerprint, user ids and expiry."""
        return self._info

    def sign(self, data: Iterable[bytes]) -> bytes:
        """Return a detached, armoured signature of `data`, streamed through gpg."""
        if self._closed:
            raise SigningError("the signing key was closed")
        argv = self._keyring.argv(
            "--pinentry-mode",
            "error",
            "--local-user",
            self._info.fingerprint,
            "--detach-sign",
            "--armor",
            "--output",
            "-",
        )
        stage = Stage(argv, self._keyring.child_env, "gpg", _sign_failed, self._redactor)
        signature = collect(stage, data).stdout
        if b"-----BEGIN PGP SIGNATURE-----" not in signature:
            raise SigningError("gpg wrote no signature")
        return signature


class GpgSigner(Signer):
    """Load the operator's signing key from `key_file` into a throw-away keyring."""

    def __init__(
        self,
        key_file: Path,
        work_root: Path,
        redactor: Redactor,
        gpg_binary: str = "gpg",
        leftovers: Leftovers | None = None,
    ) -> None:
        self._key_file = key_file
        self._work_root = work_root
        self._leftovers = leftovers
        self._redactor = redactor
        self._gpg_binary = gpg_binary
        self._open: OpenHandles[GpgSigningKey] = OpenHandles()

    def load(self) -> GpgSigningKey:
        """Import the key file and sign a probe with it.

        Raises:
            SigningError: the file is missing, open to others, not one secret signing key,
                protected by a passphrase, or gpg cannot sign with it.
        """
        data = read_key_file(self._key_file)
        keyring = new_keyring(
            SecretKeyring,
            self._work_root,
            self._redactor,
            self._gpg_binary,
            "the signing key",
            self._leftovers,
        )
        with disposed_on_failure(keyring, SigningError):
            info = self._import(keyring, data)
        return self._open.add(GpgSigningKey(keyring, info, self._redactor, self._open.forget))

    def close_all(self) -> None:
        """Close every signing key still open (a last guard)."""
        self._open.close_all()

    def _import(self, keyring: SecretKeyring, data: bytes) -> SigningKeyInfo:
        what = f"[signing] key_file {self._key_file}"
        keys = keyring.show_keys(
            data, lambda reason: SigningError(f"{what} is not an OpenPGP key: {reason}")
        )
        if len(keys) != 1:
            raise SigningError(f"{what} holds {len(keys)} keys; give exactly one")
        key = keys[0]
        if not key.holds_secret:
            raise SigningError(
                f"{what} (fingerprint {key.fingerprint}) holds no secret key; give the secret "
                "key (gpg --export-secret-keys --armor KEY)"
            )
        if not key.can_sign:
            raise SigningError(f"{what} (fingerprint {key.fingerprint}) {_cannot_sign(key)}")
        keyring.import_keys(
            data, lambda reason: SigningError(f"gpg could not import {what}: {reason}")
        )
        probe = keyring.run(
            "--pinentry-mode",
            "error",
            "--local-user",
            key.fingerprint,
            "--detach-sign",
            "--armor",
            "--output",
            "-",
            stdin=PROBE,
        )
        if probe.returncode != 0:
            stderr = probe.stderr.decode("utf-8", errors="replace")
            if any(marker in stderr for marker in _NEEDS_PASSPHRASE):
                raise SigningError(
                    f"{what} (fingerprint {key.fingerprint}) is protected by a passphrase; the "
                    "signing key must have none (gpg --change-passphrase, then an empty one)"
                )
            raise SigningError(
                f"{what} (fingerprint {key.fingerprint}) cannot sign: "
                f"{diagnostics(stderr, self._redactor)}"
            )
        expires = key.signing_expires
        return SigningKeyInfo(
            fingerprint=key.fingerprint,
            user_ids=key.valid_user_ids,
            expires=None if expires is None else datetime.fromtimestamp(expires, UTC),
        )


def _cannot_sign(key: KeyListing) -> str:
    if key.validity == "e":
        return "has expired"
    if key.validity == "r":
        return "is revoked"
    return "has no valid signing (sub)key (expired, revoked or missing)"
