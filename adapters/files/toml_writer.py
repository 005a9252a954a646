"""TomlFileConfigWriter: write a new client's settings as a `file:///path/client.toml` (0600).

The file is written as a hidden partial file beside its target (created with O_EXCL and mode 0600,
so no other user can read the secrets in it, whatever the umask), fsynced, and linked to its
final name only when nothing is there: an existing config is never replaced and a failed write
leaves nothing. Missing parent directories are made by the function the composition root passes
(`adapters.os.paths.make_private_dirs`: 0700 whatever the umask). The result reads back with
TomlFileConfigSource. Tested in tests/unit/test_operations_adapters.py on real files.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pydantic import SecretStr

from ports.config_writer import ConfigWriter
from ports.errors import ConfigSourceError

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
CONFIG_FILE_MODE = 0o600
"""A client config holds the client's secrets: for the job's user only."""
HEADER = "# long-term-storage client settings, written by create_client; keep this file 0600.\n"


class TomlFileConfigWriter(ConfigWriter):
    """Write settings as top-level TOML strings into a new 0600 file.

    Args:
        url: `file:///path/client.toml`.
        make_dirs: creates the file's missing parent directories; without it the parent
            directory must exist.
    """

    def __init__(self, url: str, *, make_dirs: Callable[[Path], None] | None = None) -> None:
        self.url = url
        self.make_dirs = make_dirs

    @property
    def path(self) -> Path:
        """Return the file the URL names."""
        parts = urlsplit(self.url)
        path = unquote(parts.path)
        if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
            raise ConfigSourceError("config file URL must look like file:///path/client.toml")
        if not path.startswith("/") or "\0" in path or path.endswith("/"):
            raise ConfigSourceError(
                "config file URL must hold an absolute file path: file:///path/client.toml"
            )
        return Path(path)

    def holds_config(self) -> bool:
        """Tell whether anything (a dangling symlink too) exists at the file's path."""
        return os.path.lexists(self.path)

    def write(self, values: Mapping[str, SecretStr | str], *, overwrite: bool = False) -> None:
        """Write `values` into a new file; an existing file is replaced only with `overwrite`.

        Raises:
            ConfigSourceError: The file exists (without `overwrite`) or cannot be written.
        """
        target = self.path
        text = HEADER + "".join(_line(name, value) for name, value in values.items())
        if self.make_dirs is not None:
            try:
                self.make_dirs(target.parent)
            except OSError as exc:
                raise ConfigSourceError(f"cannot make {target.parent}: {exc.strerror}") from None
        partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial")
        try:
            _write_new(partial, text.encode("utf-8"))
            if overwrite:
                partial.replace(target)
            else:
                # link() fails when the target exists, where rename() would replace it.
                os.link(partial, target)
        except FileExistsError:
            raise ConfigSourceError(
                f"config file {target} already exists; refusing to overwrite it"
            ) from None
        except OSError as exc:
            raise ConfigSourceError(f"cannot write config file {target}: {exc.strerror}") from None
        finally:
            with contextlib.suppress(OSError):
                partial.unlink()
        _fsync_dir(target.parent)


def _line(name: str, value: SecretStr | str) -> str:
    if not _BARE_KEY.match(name):
        raise ConfigSourceError(f"{name!r} cannot be a TOML key of a client config")
    text = value.get_secret_value() if isinstance(value, SecretStr) else value
    # JSON's string escapes are all valid TOML basic-string escapes; DEL must be escaped too.
    quoted = json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")
    return f"{name} = {quoted}\n"


def _write_new(path: Path, data: bytes) -> None:
    fd = os.open(
        path,
        os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
        CONFIG_FILE_MODE,
    )
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise


def _fsync_dir(directory: Path) -> None:
    # The new name must survive a crash as the data does; a file system may refuse (harmless).
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
