"""The ConfigOpener port: the config source of any client, for jobs that visit many (SPEC 16)."""

from __future__ import annotations

from abc import abstractmethod
from typing import Protocol

from domain.models.fleet import ClientStore
from ports.config_source import ConfigSource


class ConfigOpener(Protocol):
    """Build the config source that fits a client's store (chosen by its URL scheme).

    Building reads nothing; the source reports its own errors when it is read.
    """

    @abstractmethod
    def open(self, store: ClientStore) -> ConfigSource:
        """Return the config source of `store`; ConfigSourceError for an unknown scheme."""
