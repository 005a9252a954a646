"""InMemoryKeyGenerator: a fixed fake key pair for onboarding tests."""

from __future__ import annotations

from pydantic import SecretStr

from ports.errors import KeyGenerationError
from ports.key_generator import GeneratedKey, KeyGenerator


class InMemoryKeyGenerator(KeyGenerator):
    """Hands out a fixed fake key pair; `error` makes generation fail."""

    def __init__(
        self,
        *,
        passphrase: str = "key-passphrase",  # noqa: S107 - matches InMemoryDecryptor's default
        error: KeyGenerationError | None = None,
    ) -> None:
        self.passphrase = passphrase
        self.error = error
        self.generated: list[GeneratedKey] = []

    def generate(self, user_id: str) -> GeneratedKey:
        """Return a fake key pair for `user_id`."""
        if self.error is not None:
            raise self.error
        key = GeneratedKey(
            fingerprint="F" * 40,
            user_id=user_id,
            public_key=b"-----BEGIN PGP PUBLIC KEY BLOCK-----\npublic\n",
            secret_key=SecretStr("-----BEGIN PGP PRIVATE KEY BLOCK-----\nsecret\n"),
            passphrase=SecretStr(self.passphrase),
        )
        self.generated.append(key)
        return key

    def generate_signing_key(self, user_id: str) -> GeneratedKey:
        """Return a fake, unprotected signing key for `user_id`."""
        if self.error is not None:
            raise self.error
        key = GeneratedKey(
            fingerprint="5" * 40,
            user_id=user_id,
            public_key=b"-----BEGIN PGP PUBLIC KEY BLOCK-----\nsigning public\n",
            secret_key=SecretStr("-----BEGIN PGP PRIVATE KEY BLOCK-----\nsigning secret\n"),
            passphrase=SecretStr(""),
        )
        self.generated.append(key)
        return key
