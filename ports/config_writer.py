"""The ConfigWriter port: store a new client's settings (onboarding, `create_client`)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from typing import Protocol

from pydantic import SecretStr


class ConfigWriter(Protocol):
    """Write one client's settings to its store (a Key Vault or a `file://` TOML).

    A store "holds a config" when a TOML file exists at the path, or a vault holds the secret
    `client-name`. `write` never replaces a config unless `overwrite` is true: it raises
    ConfigSourceError and writes nothing. Values are secrets: an adapter never logs them and
    keeps them out of error texts. Raises ConfigSourceError when the store cannot be written.
    """

    @abstractmethod
    def holds_config(self) -> bool:
        """Tell whether the store already holds a client's config."""

    @abstractmethod
    def write(self, values: Mapping[str, SecretStr | str], *, overwrite: bool = False) -> None:
        """Store `values` as the client's settings."""
