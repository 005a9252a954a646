"""File names no share can confuse: reversible ones for databases (SPEC 7), checked archive names.

The share may be Azure Files or Samba over SMB: case-insensitive (`Sales` and `sales` are one
file), with Windows' name rules (the device names `CON`, `PRN`, `AUX`, `NUL`, `COM0`-`COM9` and
`LPT0`-`LPT9` are refused or mangled whatever their extension; a name may not end with a dot or
a space; a name holds at most 255 characters). A database name may hold any of that, and any
Unicode. So a dump's file name keeps only `[a-z0-9_-]` as they are and percent-encodes every
other byte of the name's UTF-8 (upper-case letters and dots included) with upper-case hex:
`Sales` is `%53ales.dump.gpg`, `sales` is `sales.dump.gpg`. Read case-insensitively the names
still differ, since the kept characters are lower-case and the escapes decode the same in either
case; so two databases never share a stored name. A name that would still be a device name gets
its first letter encoded (`con` is `%63on`). The longest database name (63 bytes) becomes 189
characters, well inside 255 with any suffix (the longest, a zstd dump rekeyed with an escrow
key, `.dump.zst.<KEYID>-<ESCROWID>.gpg`, makes 236). The rule makes the stem; the suffixes
(`compressed_file`, domain/rules/rekeying.py) are the same for every database. The mapping is
deterministic and reversible (`database_of`); runs written by the earlier rule (which kept
`[A-Za-z0-9_.-]`) are read through their manifests, which map every database to its file, so
nothing recomputes their names.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from domain.models.compression import ZSTD_FILE_SUFFIX, is_zstd

DUMP_SUFFIX = ".dump.gpg"
GLOBALS_FILE = "globals.sql.gpg"
MAX_NAME_LENGTH_ON_SHARE = 255
"""The longest file name SMB, NTFS and Azure Files hold (UTF-16 units; ours are ASCII)."""

_KEPT = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")
_DEVICE = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])$", re.IGNORECASE)
"""Windows device names, refused (or mangled) as the part of a file name before its first dot;
COM0 and LPT0 are reserved too on recent Windows."""


def file_stem(database: str) -> str:
    """Return the file-name-safe form of a database name (see the module docstring).

    Raises:
        ValueError: the name is empty (PostgreSQL has no such database).
    """
    if not database:
        raise ValueError("a database name is never empty")
    stem = "".join(
        char if char in _KEPT else "".join(f"%{byte:02X}" for byte in char.encode())
        for char in database
    )
    if is_device_name(stem):
        stem = f"%{ord(stem[0]):02X}{stem[1:]}"
    return stem


def database_of(stem: str) -> str:
    """Return the database name a file stem was made from (by this rule or the earlier one)."""
    return unquote(stem, errors="strict")


def dump_file(database: str) -> str:
    """Return the name of a database's encrypted dump file."""
    return file_stem(database) + DUMP_SUFFIX


def is_device_name(name: str) -> bool:
    """Tell whether Windows reads `name` as a device.

    It does when the part before the first dot, trailing spaces trimmed, is a reserved name (in
    any case).
    """
    return bool(_DEVICE.match(name.split(".", 1)[0].rstrip(" ")))


ENCRYPTED_SUFFIX = ".gpg"


def compressed_file(name: str, compression: str) -> str:
    """Return the stored name of `name` (`sales.dump.gpg`, `globals.sql.gpg`) for `compression`.

    A stream a zstd process compressed (`zstd:N`) gets `.zst` before `.gpg`
    (`sales.dump.zst.gpg`), so the file name alone tells which stock tools read it back.
    """
    if not is_zstd(compression):
        return name
    return name.removesuffix(ENCRYPTED_SUFFIX) + ZSTD_FILE_SUFFIX


_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f\\/:*?"<>|]')
"""Characters SMB and Azure Files refuse in a name, and control characters."""
MAX_NAME_LENGTH = 200


def archive_name_problem(name: str) -> str | None:
    """Return why a local file name cannot be an archive name on the share, or None."""
    if name in ("", ".", ".."):
        return "has no file name"
    if len(name) > MAX_NAME_LENGTH:
        return f"has a name longer than {MAX_NAME_LENGTH} characters"
    if _UNSAFE_NAME.search(name) or name != name.strip() or name.endswith("."):
        return (
            'has a name a share cannot hold (control characters, \\ / : * ? " < > |, '
            "or a leading or trailing space or a trailing dot)"
        )
    if is_device_name(name):
        return "has a name Windows reserves for a device (CON, PRN, AUX, NUL, COM0-9, LPT0-9)"
    return None
