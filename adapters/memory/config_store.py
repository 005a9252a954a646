"""InMemoryConfigStore: a config store onboarding writes and reads back, as a dict."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import SecretStr

from ports.config_source import ConfigSource
from ports.config_writer import ConfigWriter
from ports.errors import ConfigSourceError

CLIENT_NAME_KEY = "client-name"


class InMemoryConfigStore(ConfigSource, ConfigWriter):
    """A config store that can be written and read back: `values` holds what is stored.

    It holds a config when `values` has `client-name` (as a vault) or when `exists` is set (as a
    file). `write_error` makes writing fail, `read_error` reading; `writes` counts writes.
    """

    def __init__(
        self,
        values: Mapping[str, str] | None = None,
        *,
        exists: bool = False,
        write_error: ConfigSourceError | None = None,
        read_error: ConfigSourceError | None = None,
    ) -> None:
        self.values = dict(values or {})
        self.exists = exists
        self.write_error = write_error
        self.read_error = read_error
        self.writes = 0

    def holds_config(self) -> bool:
        """Tell whether a config is stored."""
        if self.read_error is not None:
            raise self.read_error
        return self.exists or CLIENT_NAME_KEY in self.values

    def write(self, values: Mapping[str, SecretStr | str], *, overwrite: bool = False) -> None:
        """Store the values as plain text, refusing an existing config without `overwrite`."""
        if self.write_error is not None:
            raise self.write_error
        if not overwrite and self.holds_config():
            raise ConfigSourceError("the store already holds a client's settings")
        self.writes += 1
        self.exists = True
        self.values.update(
            {
                name: value.get_secret_value() if isinstance(value, SecretStr) else value
                for name, value in values.items()
            }
        )

    def read(self, keys: Sequence[str]) -> dict[str, str]:
        """Return the stored values of `keys`."""
        if self.read_error is not None:
            raise self.read_error
        return {key: self.values[key] for key in keys if key in self.values}
