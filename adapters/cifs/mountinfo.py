r"""Read the kernel's mount table (`/proc/self/mountinfo`) to find what is mounted where.

Format (proc(5)): `id parent major:minor root mount-point options [optional...] - fstype source
super-options`, with space, tab, newline and backslash in paths escaped as octal (`\040`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ports.errors import ShareUnavailableError

DEFAULT_MOUNTINFO = Path("/proc/self/mountinfo")
CIFS_FSTYPES = frozenset({"cifs", "smb3"})
"""The kernel reports a CIFS mount as `cifs`, or `smb3` when mounted with `-t smb3`."""

_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")
_FIRST_FIELDS = 6
"""id, parent, major:minor, root, mount point, mount options."""


@dataclass(frozen=True, slots=True)
class MountEntry:
    """One line of the mount table: where, what kind, and what was mounted."""

    mount_point: str
    fstype: str
    source: str


def read_mountinfo(path: Path = DEFAULT_MOUNTINFO) -> list[MountEntry]:
    """Return every mount in table order (a later mount on the same point hides earlier ones).

    Raises:
        ShareUnavailableError: The table cannot be read.
    """
    try:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError as error:
        raise ShareUnavailableError(
            f"cannot read the mount table {path}: {error.strerror or error}"
        ) from None
    return [entry for line in text.splitlines() if (entry := _parse_line(line)) is not None]


def mounted_at(mount_point: Path, path: Path = DEFAULT_MOUNTINFO) -> MountEntry | None:
    """Return the topmost mount on `mount_point`, or None when nothing is mounted there."""
    wanted = str(mount_point)
    found = None
    for entry in read_mountinfo(path):
        if entry.mount_point == wanted:
            found = entry
    return found


def _parse_line(line: str) -> MountEntry | None:
    fields = line.split()
    try:
        separator = fields.index("-", _FIRST_FIELDS)
    except ValueError:
        return None
    if len(fields) < separator + 3:
        return None
    return MountEntry(
        mount_point=_unescape(fields[4]),
        fstype=fields[separator + 1],
        source=_unescape(fields[separator + 2]),
    )


def _unescape(field: str) -> str:
    return _OCTAL_ESCAPE.sub(lambda match: chr(int(match.group(1), 8)), field)
