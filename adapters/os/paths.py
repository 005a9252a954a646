"""Private directories and safe path components for the OS adapters."""

from __future__ import annotations

import re

from adapters.process.private_dirs import PRIVATE_DIR_MODE, make_private_dirs
from ports.errors import ConfigError

__all__ = ["PRIVATE_DIR_MODE", "PRIVATE_FILE_MODE", "check_component", "make_private_dirs"]

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
