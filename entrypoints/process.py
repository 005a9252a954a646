"""Facts about this process the composition root hands to the domain."""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from importlib.metadata import PackageNotFoundError, version


def process_owner() -> str:
    """Return `host <name> pid <n>`, written into the share's lock marker."""
    return f"host {socket.gethostname()} pid {os.getpid()}"


def tool_version() -> str:
    """Return the installed version of long-term-storage, recorded in every manifest."""
    try:
        return version("long-term-storage")
    except PackageNotFoundError:
        return "unknown (not installed)"


def choose(value: str | None, default: str | None) -> str | None:
    """Return a command-line value, else the master config's default."""
    return value if value is not None else default


def scheme_of(url: str) -> str:
    """Return the scheme of a config source URL (`https` or `file`)."""
    return url.split("://", 1)[0].lower()


def hours(value: float) -> timedelta:
    """Return a duration given in hours, as the master config states ages."""
    return timedelta(hours=value)
