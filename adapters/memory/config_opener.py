"""InMemoryConfigOpener: a config source per client store URL, from a dict."""

from __future__ import annotations

from collections.abc import Mapping

from domain.models.fleet import ClientStore
from ports.config_opener import ConfigOpener
from ports.config_source import ConfigSource
from ports.errors import ConfigSourceError


class InMemoryConfigOpener(ConfigOpener):
    """Hands out `sources[store.url]`; an unknown URL raises ConfigSourceError when opened."""

    def __init__(self, sources: Mapping[str, ConfigSource]) -> None:
        self.sources = dict(sources)
        self.opened: list[str] = []

    def open(self, store: ClientStore) -> ConfigSource:
        """Return the source registered for the store's URL."""
        self.opened.append(store.url)
        source = self.sources.get(store.url)
        if source is None:
            raise ConfigSourceError(f"no config at {store.url}")
        return source
