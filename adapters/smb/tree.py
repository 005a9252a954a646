"""Directories of an SMB share: list entries (links recognised), delete entries and whole trees.

Reparse points and mfsymlink files count as symlinks (adapters/smb/links.py): they are listed as
such and removed themselves, never followed. Tested against a real Samba server
(tests/integration/test_smb_share.py, tests/contract/test_file_share.py).
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import NamedTuple

import smbclient

from adapters.smb.connection import SmbConnection
from adapters.smb.links import (
    DIRECTORY,
    MFSYMLINK_MAGIC,
    is_plain_directory,
    is_reparse_point,
    may_be_mfsymlink,
)
from ports.errors import ShareUnavailableError
from ports.file_share import Entry


class Listed(NamedTuple):
    """One entry as the server lists it."""

    name: str
    attributes: int
    size: int


def require_directory(connection: SmbConnection, attributes: int, path: PurePosixPath) -> None:
    """Refuse a link or anything but a directory at `path`.

    Raises:
        ShareUnavailableError: `path` is a link or not a directory.
    """
    if is_reparse_point(attributes):
        raise ShareUnavailableError(f"{connection.show(path)} is a symlink; refusing to follow it")
    if not is_plain_directory(attributes):
        raise ShareUnavailableError(f"{connection.show(path)} is not a directory")


def scan(connection: SmbConnection, remote: str) -> list[Listed]:
    """Return what the server lists in a directory, the directory handle closed."""
    with smbclient.scandir(remote, **connection.session()) as found:
        return [
            Listed(
                str(entry.smb_info.file_name),
                int(entry.smb_info.file_attributes),
                int(entry.smb_info.end_of_file),
            )
            for entry in found
        ]


def entry(connection: SmbConnection, remote: str, listed: Listed) -> Entry:
    """Return the port's Entry for a listed item of the directory `remote`."""
    name, attributes, size = listed
    if is_reparse_point(attributes):
        return Entry(name, is_dir=False, is_symlink=True)
    if is_plain_directory(attributes):
        return Entry(name, is_dir=True)
    if may_be_mfsymlink(attributes, size) and _is_mfsymlink(connection, f"{remote}\\{name}"):
        return Entry(name, is_dir=False, is_symlink=True)
    return Entry(name, is_dir=False, size=size)


def delete_entry(connection: SmbConnection, remote: str, attributes: int) -> None:
    """Delete a file or a link itself; smbclient opens both without following reparse points."""
    if attributes & DIRECTORY:
        smbclient.rmdir(remote, **connection.session())
    else:
        smbclient.remove(remote, **connection.session())


def remove_tree(connection: SmbConnection, remote: str) -> None:
    """Delete a directory, depth first; links inside are removed, never followed."""
    for name, attributes, _ in scan(connection, remote):
        child = f"{remote}\\{name}"
        if is_plain_directory(attributes):
            remove_tree(connection, child)
        else:
            delete_entry(connection, child, attributes)
    smbclient.rmdir(remote, **connection.session())


def _is_mfsymlink(connection: SmbConnection, remote: str) -> bool:
    with smbclient.open_file(
        remote, mode="rb", buffering=0, share_access="rwd", **connection.session()
    ) as file:
        return bytes(file.read(len(MFSYMLINK_MAGIC))) == MFSYMLINK_MAGIC
