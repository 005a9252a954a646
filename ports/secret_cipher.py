"""The SecretCipher port: turns a command-line token back into its secret."""

from abc import abstractmethod
from typing import Protocol

from pydantic import SecretStr


class SecretCipher(Protocol):
    """Symmetric encryption of short secrets passed on command lines (Fernet).

    Raises SecretError, with a one-line reason, for a wrong key or a damaged token.
    """

    @abstractmethod
    def encrypt(self, secret: SecretStr) -> str:
        """Return a token for `secret`."""

    @abstractmethod
    def decrypt(self, token: str) -> SecretStr:
        """Return the secret a token holds."""
