"""Private directories and safe path components for the OS adapters."""

from __future__ import annotations

import re
from pathlib import Path

from ports.errors import ConfigError

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600

_COMPONENT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
"""SPEC section 10: a client name becomes paths and mount points, so it must be one safe part."""


def check_component(name: str, what: str) -> str:
    """Return `name` when it is a safe single path component, else raise ConfigError.

    Args:
        name: The client or job name that becomes a file or directory name.
        what: What the name is ("client name"), for the error message.
    """
    if not _COMPONENT.match(name):
        raise ConfigError(f"{what} {name!r} must match {_COMPONENT.pattern}")
    return name


def make_private_dirs(path: Path) -> None:
    """Create `path` and its missing parents with mode 0700; existing ones are left as they are.

    `Path.mkdir(parents=True)` gives parents the umask's mode; here each directory this call
    creates is private, and the mode is set explicitly because the umask may clear bits.
    """
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:
            # Another process made it between our check and mkdir: fine, it exists now.
            continue
        directory.chmod(PRIVATE_DIR_MODE)
