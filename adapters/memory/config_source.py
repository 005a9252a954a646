"""InMemoryConfigSource: a client's settings in a dict, with a failure switch."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ports.config_source import ConfigSource
from ports.errors import ConfigSourceError


class InMemoryConfigSource(ConfigSource):
    """A dict of settings; `reads` counts how often each key was read; `error` breaks it."""

    def __init__(
        self, values: Mapping[str, str], *, error: ConfigSourceError | None = None
    ) -> None:
        self.values = dict(values)
        self.error = error
        self.reads: dict[str, int] = {}

    def read(self, keys: Sequence[str]) -> dict[str, str]:
        """Return the values of the keys that exist."""
        if self.error is not None:
            raise self.error
        for key in keys:
            self.reads[key] = self.reads.get(key, 0) + 1
        return {key: self.values[key] for key in keys if key in self.values}
