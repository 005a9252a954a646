"""GpgKeyGenerator: make a client's OpenPGP key pair with the `gpg` binary (create_client).

The key is generated in a throw-away GNUPGHOME (mode 0700) under the work root with gpg's own
defaults (`future-default`: an ed25519 primary key and a cv25519 encryption subkey, RFC 9580) and
no expiry, protected by a passphrase of 32 random bytes (`secrets.token_urlsafe(32)`) with gpg's
calibrated S2K. The passphrase reaches gpg only through loopback pinentry on a pipe, for the
generation and again for the export of the secret key. The armoured public and secret keys are
returned in memory; the directory is removed, after its gpg-agent is stopped, whatever happens.
The operator's signing key (`create_client --signing`) is an ed25519 key that signs and
certifies only, exported without a passphrase: the mode of `[signing] key_file` protects it.
Tested against the real gpg in tests/integration/test_operations_jobs.py.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import SecretStr

from adapters.gpg.decryptor import SecretKeyring
from adapters.gpg.keyring import diagnostics
from adapters.process.leftovers import Leftovers
from domain.models.redaction import Redactor
from ports.errors import KeyGenerationError, LtsError
from ports.key_generator import GeneratedKey, KeyGenerator

DEFAULT_ALGORITHM = "future-default"
PASSPHRASE_BYTES = 32
_ARMOURED_SECRET = b"-----BEGIN PGP PRIVATE KEY BLOCK-----"


class GpgKeyGenerator(KeyGenerator):
    """Generate passphrase-protected key pairs that never expire, leaving no keyring behind."""

    def __init__(
        self,
        work_root: Path,
        redactor: Redactor,
        gpg_binary: str = "gpg",
        algorithm: str = DEFAULT_ALGORITHM,
        leftovers: Leftovers | None = None,
    ) -> None:
        self._work_root = work_root
        self._leftovers = leftovers
        self._redactor = redactor
        self._gpg_binary = gpg_binary
        self._algorithm = algorithm

    def generate(self, user_id: str) -> GeneratedKey:
        """Generate a key pair for `user_id` and export both halves armoured.

        Raises:
            KeyGenerationError: gpg is missing or fails; the keyring is removed anyway.
        """
        passphrase = SecretStr(secrets.token_urlsafe(PASSPHRASE_BYTES))
        self._redactor.add(passphrase)
        return self._in_keyring(user_id, passphrase, "default", "the key pair", self._leftovers)

    def generate_signing_key(self, user_id: str) -> GeneratedKey:
        """Generate an unprotected signing key for `user_id` (ed25519, sign and certify only).

        Raises:
            KeyGenerationError: gpg is missing or fails; the keyring is removed anyway.
        """
        return self._in_keyring(user_id, SecretStr(""), "sign", "the signing key")

    def _in_keyring(
        self,
        user_id: str,
        passphrase: SecretStr,
        usage: str,
        what: str,
        leftovers: Leftovers | None = None,
    ) -> GeneratedKey:
        """Generate `what` in a new keyring and remove the keyring whatever happens."""
        try:
            keyring = SecretKeyring(self._work_root, self._redactor, self._gpg_binary, leftovers)
        except (LtsError, OSError) as exc:
            raise KeyGenerationError(f"cannot make a keyring to generate the key: {exc}") from None
        try:
            return self._generate(keyring, user_id, passphrase, usage)
        except KeyGenerationError:
            raise
        except LtsError as exc:
            raise KeyGenerationError(f"cannot generate {what}: {exc}") from None
        finally:
            keyring.dispose()

    def _generate(
        self, keyring: SecretKeyring, user_id: str, passphrase: SecretStr, usage: str = "default"
    ) -> GeneratedKey:
        created = keyring.run_unlocking(
            passphrase,
            "--status-fd",
            "1",
            "--quick-generate-key",
            user_id,
            self._algorithm,
            usage,
            "never",
            stdin=b"",
        )
        fingerprint = next(
            (
                line.split()[-1].upper()
                for line in created.stdout.decode("utf-8", errors="replace").splitlines()
                if line.startswith("[GNUPG:] KEY_CREATED ")
            ),
            "",
        )
        if created.returncode != 0 or not fingerprint:
            raise KeyGenerationError(
                f"gpg could not generate a key: {diagnostics(created.stderr, self._redactor)}"
            )
        public = keyring.run("--armor", "--export", fingerprint)
        if public.returncode != 0 or not public.stdout:
            raise KeyGenerationError(
                f"gpg could not export the public key: {diagnostics(public.stderr, self._redactor)}"
            )
        secret = keyring.run_unlocking(
            passphrase, "--armor", "--export-secret-keys", fingerprint, stdin=b""
        )
        if secret.returncode != 0 or not secret.stdout.startswith(_ARMOURED_SECRET):
            raise KeyGenerationError(
                f"gpg could not export the secret key: {diagnostics(secret.stderr, self._redactor)}"
            )
        secret_text = secret.stdout.decode("ascii")
        self._redactor.add(secret_text)
        return GeneratedKey(
            fingerprint=fingerprint,
            user_id=user_id,
            public_key=public.stdout,
            secret_key=SecretStr(secret_text),
            passphrase=passphrase,
        )
