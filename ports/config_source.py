"""The ConfigSource port: a store of a client's settings (Key Vault or a TOML file)."""

from abc import abstractmethod
from collections.abc import Sequence
from typing import Protocol


class ConfigSource(Protocol):
    """Raw key/value settings of one client.

    `read` returns the keys that exist, each read once; absent keys are simply left out (the
    domain decides which are required). Values are strings. Raises ConfigSourceError when the
    store itself cannot be read. Values are secrets: an adapter never logs them.
    """

    @abstractmethod
    def read(self, keys: Sequence[str]) -> dict[str, str]:
        """Return the values of those `keys` that exist."""
