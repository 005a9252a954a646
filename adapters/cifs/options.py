"""The `-o` options of `mount -t cifs`: fixed ones, the job's ids, and checked extra options.

The storage credentials only ever reach mount.cifs through the credentials file; extra options
from `[share] mount_options` that would set or replace them are refused (SPEC section 9).
Tested in tests/integration/test_cifs_mount.py.
"""

from __future__ import annotations

import os
from pathlib import Path

from ports.errors import ConfigError

BASE_OPTIONS = (
    "vers=3.1.1",
    "serverino",
    # One TCP connection per mount: a hung share of one client never stalls another's.
    "nosharesock",
    "actimeo=30",
    # Azure Files has no symlinks; this makes any the kernel client meets visible as symlinks.
    "mfsymlinks",
)
FIXED_MODES = ("dir_mode=0700", "file_mode=0600")
_CREDENTIAL_OPTIONS = frozenset(
    {"user", "username", "pass", "password", "password2", "cred", "credentials"}
)
"""Options that would put a credential on the command line or replace the credentials file."""


def mount_options(credentials: Path, extra_options: str) -> str:
    """Return the `-o` value: fixed options, the job's uid/gid, credentials, extra options.

    Args:
        credentials: the credentials file (see adapters/cifs/credentials.py).
        extra_options: options already passed through `checked_options`.
    """
    options = [
        *BASE_OPTIONS,
        f"uid={os.getuid()}",
        f"gid={os.getgid()}",
        *FIXED_MODES,
        f"credentials={credentials}",
    ]
    if extra_options:
        options.append(extra_options)
    return ",".join(options)


def checked_options(options: str) -> str:
    """Return `[share] mount_options` without blanks, refusing any credential option.

    Raises:
        ConfigError: An option sets a credential, or an option holds a blank.
    """
    cleaned = ",".join(part.strip() for part in options.split(",") if part.strip())
    for part in cleaned.split(","):
        name = part.split("=", 1)[0].strip().lower()
        if name in _CREDENTIAL_OPTIONS:
            raise ConfigError(
                f"[share] mount_options must not set '{name}': credentials come from the client"
                " config through a credentials file"
            )
    if any(character.isspace() for character in cleaned):
        raise ConfigError("[share] mount_options must not contain blanks inside an option")
    return cleaned


def safe_component(client: str) -> str:
    """Return the client name if it is one plain path component (it names the mount point).

    Raises:
        ConfigError: The name is empty, `.` or `..`, or holds a slash or NUL.
    """
    if not client or client in (".", "..") or "/" in client or "\0" in client:
        raise ConfigError("the client name cannot name a mount point")
    return client
