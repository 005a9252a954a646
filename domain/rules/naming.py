"""Safe file names: reversible ones for database names (SPEC section 7), checked archive names.

A database name may hold spaces, quotes, slashes or any Unicode. Names made only of
`[A-Za-z0-9_.-]` (not starting with a dot) are kept; any other is percent-encoded byte by byte
(UTF-8), so the file name is unique, ASCII, and readable where the name was.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

from domain.models.compression import ZSTD_FILE_SUFFIX, is_zstd

_SAFE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,199}$")
DUMP_SUFFIX = ".dump.gpg"
GLOBALS_FILE = "globals.sql.gpg"


def file_stem(database: str) -> str:
    """Return the file-name-safe form of a database name."""
    if _SAFE.match(database):
        return database
    return quote(database, safe="_-").replace(".", "%2E")


def database_of(stem: str) -> str:
    """Return the database name a file stem was made from."""
    return unquote(stem)


def dump_file(database: str) -> str:
    """Return the name of a database's encrypted dump file."""
    return file_stem(database) + DUMP_SUFFIX


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
    if _UNSAFE_NAME.search(name) or name != name.strip():
        return 'has a name a share cannot hold (control characters, \\ / : * ? " < > |)'
    return None
