r"""Recognise symlinks on an SMB share: reparse points, and Minshall+French symlink files.

Azure Files cannot hold real symlinks over SMB; a kernel CIFS client mounted with `mfsymlinks`
(as CifsMount mounts) stores one as a 1067-byte file starting with `XSym\n`. Both
drivers must see the same share the same way, so this driver reports those files as symlinks
too. Any reparse point (symlink, junction, or other) is treated as a symlink: never followed.
"""

from __future__ import annotations

from smbprotocol.open import FileAttributes

MFSYMLINK_SIZE = 1067
MFSYMLINK_MAGIC = b"XSym\n"
REPARSE_POINT = int(FileAttributes.FILE_ATTRIBUTE_REPARSE_POINT)
DIRECTORY = int(FileAttributes.FILE_ATTRIBUTE_DIRECTORY)


def is_reparse_point(attributes: int) -> bool:
    """Tell whether SMB file attributes mark a reparse point (a link of some kind)."""
    return bool(attributes & REPARSE_POINT)


def is_plain_directory(attributes: int) -> bool:
    """Tell whether SMB file attributes mark a directory that is not a reparse point."""
    return bool(attributes & DIRECTORY) and not is_reparse_point(attributes)


def may_be_mfsymlink(attributes: int, size: int) -> bool:
    """Tell whether a directory entry has the shape of an mfsymlink file (then read its start)."""
    return size == MFSYMLINK_SIZE and not attributes & (DIRECTORY | REPARSE_POINT)
