"""Facts about this process the composition root hands to the domain."""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path


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


def azure_transport(
    ca_file: Path | None, connection_timeout: float, read_timeout: float, retries: int
) -> dict[str, object]:
    """Return the Azure SDK transport options of the master config's `[azure]` section."""
    options: dict[str, object] = {
        "connection_timeout": connection_timeout,
        "read_timeout": read_timeout,
        "retry_total": retries,
    }
    if ca_file is not None:
        options["connection_verify"] = str(ca_file)
    return options


def path_text(path: Path | None) -> str | None:
    """Return a path as text, None staying None."""
    return None if path is None else str(path)
