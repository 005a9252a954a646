"""TomlFileConfigSource: a client's settings in a local TOML file (`file:///path/client.toml`).

The file holds the Key Vault secret names as top-level keys (`postgresql-host = "db"`). Tested in
tests/unit/test_toml_config_source.py on real files.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import stat
import tomllib
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ports.config_source import ConfigSource
from ports.errors import ConfigSourceError

logger = logging.getLogger("lts.files")

# tomllib messages may quote a character or key of the file; only the position is kept.
_POSITION = re.compile(r"line (\d+), column (\d+)")
_OPEN_TO_OTHERS = stat.S_IRWXG | stat.S_IRWXO


class TomlFileConfigSource(ConfigSource):
    """Read a client's settings from a TOML file, once; values come back as strings.

    Strings stay as they are, integers and floats become their decimal text, booleans
    `true`/`false`, dates and times ISO 8601 text, and lists their items joined by commas: the
    domain validates the text as it does for Key Vault secrets.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._table: dict[str, object] | None = None

    def read(self, keys: Sequence[str]) -> dict[str, str]:
        """Return the values of those `keys` the file holds, as strings.

        Raises:
            ConfigSourceError: The file is missing, unreadable or not valid TOML, or a requested
                key holds a table.
        """
        if self._table is None:
            self._table = _load(_path_of(self.url))
        values: dict[str, str] = {}
        for key in keys:
            if key in self._table:
                values[key] = _as_text(key, self._table[key], self.url)
        return values


def _path_of(url: str) -> Path:
    parts = urlsplit(url)
    if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
        raise ConfigSourceError("config file URL must look like file:///path/client.toml")
    path = unquote(parts.path)
    if not path.startswith("/") or "\0" in path:
        raise ConfigSourceError(
            "config file URL must hold an absolute path: file:///path/client.toml"
        )
    return Path(path)


def _load(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as file:
            mode = path.stat().st_mode
            if mode & _OPEN_TO_OTHERS:
                logger.warning(
                    "config file %s holds secrets but is open to group or others (mode %o)",
                    path,
                    stat.S_IMODE(mode),
                )
            return tomllib.load(file)
    except FileNotFoundError:
        raise ConfigSourceError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as error:
        found = _POSITION.search(str(error))
        where = f" at line {found[1]}, column {found[2]}" if found else ""
        raise ConfigSourceError(f"config file {path} is not valid TOML{where}") from None
    except UnicodeDecodeError:
        raise ConfigSourceError(f"config file {path} is not valid UTF-8") from None
    except OSError as error:
        raise ConfigSourceError(f"cannot read config file {path}: {error.strerror}") from None


def _as_text(key: str, value: object, url: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list):
        return ",".join(_as_text(key, item, url) for item in value)
    raise ConfigSourceError(f"key {key!r} in {url} holds a table, not a value")
