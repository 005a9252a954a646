"""SmbFileShare: a `//host/share[/path]` share reached in userspace with smbprotocol's smbclient.

`[share] cifs_driver = "smb"`: no kernel mount, no root, no sudo. `mount` opens an SMB 3 session
(encrypted by default, as Azure Files requires) with `storage-name` and `storage-key`; `unmount`
closes it. The work is split by what it does: the session and path rules
(adapters/smb/connection.py), directories (adapters/smb/tree.py), file contents
(adapters/smb/transfer.py), error texts (adapters/smb/errors.py), links (adapters/smb/links.py).

Tested against a real Samba server: tests/contract/test_file_share.py (the `smb` parameter) and
tests/integration/test_smb_share.py.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable, Iterator
from pathlib import PurePosixPath
from typing import Unpack

import smbclient

from adapters.smb.connection import SmbConnection, SmbOptions
from adapters.smb.links import is_plain_directory, is_reparse_point
from adapters.smb.transfer import (
    append,
    read_chunks,
    rename_without_replacing,
    replace_file,
    write_atomically,
)
from adapters.smb.tree import delete_entry, entry, remove_tree, require_directory, scan
from domain.models.redaction import Redactor
from domain.models.unc import UncPath
from ports.errors import ShareUnavailableError
from ports.file_share import Entry, FileShare, MountOutcome, ShareTarget, WriteReceipt


class SmbFileShare(FileShare):
    """A client's share over SMB 2/3, rooted at the folder the UNC names.

    Args:
        target: the share (`//host/share[/path]`), user (`storage-name`), key (`storage-key`).
        redactor: learns the storage key; masks every error text with it.
        options: how to reach the server (port, encryption, timeout): SmbOptions.

    Raises:
        ConfigError: The target has no storage name or key.
        ShareUnavailableError: The UNC is not `//host/share[/path]`.
    """

    def __init__(
        self, target: ShareTarget, *, redactor: Redactor, **options: Unpack[SmbOptions]
    ) -> None:
        self._smb = SmbConnection(target, redactor=redactor, **options)

    @property
    def unc(self) -> UncPath:
        """Return the share and folder this share is rooted at."""
        return self._smb.unc

    @property
    def port(self) -> int:
        """Return the server's SMB port."""
        return self._smb.port

    def mount(self) -> MountOutcome:
        """Open an SMB session to the server and check that the share root is a directory.

        Raises:
            ShareUnavailableError: The server cannot be reached, refuses the login, or the root
                folder is missing or not a directory.
        """
        root = self.unc.source
        try:
            self._smb.open()
            with self._smb.errors("open the share root", PurePosixPath()):
                attributes = self._smb.attributes(self.unc.windows)
            if attributes is None:
                raise ShareUnavailableError(f"share root {root} does not exist")
            if not is_plain_directory(attributes):
                raise ShareUnavailableError(f"share root {root} is not a directory")
        except ShareUnavailableError:
            self.unmount()
            raise
        return MountOutcome.MOUNTED

    def unmount(self) -> None:
        """Close this share's SMB connection (open handles are closed with it)."""
        self._smb.close()

    def make_dirs(self, path: PurePosixPath) -> None:
        """Create `path` and its missing parents; existing directories are fine."""
        smb = self._smb
        smb.remote(path)
        for depth in range(1, len(path.parts) + 1):
            current = PurePosixPath(*path.parts[:depth])
            remote = smb.remote(current)
            with smb.errors("create directory", current):
                try:
                    smbclient.mkdir(remote, **smb.session())
                    continue
                except OSError as error:
                    if error.errno != errno.EEXIST:
                        raise
                attributes = smb.attributes(remote)
            if attributes is None:
                raise ShareUnavailableError(f"cannot create directory {smb.show(current)}")
            if is_reparse_point(attributes):
                raise ShareUnavailableError(
                    f"{smb.show(current)} is a symlink; refusing to follow it"
                )
            if not is_plain_directory(attributes):
                raise ShareUnavailableError(f"{smb.show(current)} exists and is not a directory")

    def write_stream(self, path: PurePosixPath, chunks: Iterable[bytes]) -> WriteReceipt:
        """Stream `chunks` to `<name>.partial`, flush it and rename it to `path`.

        Raises:
            ShareUnavailableError: `path` exists, or the share cannot be written
                (ShareFullError when it is out of space).
        """
        return write_atomically(self._smb, path, chunks)

    def append_line(self, path: PurePosixPath, line: str) -> None:
        """Append `line` and a newline to a file (created when absent), then flush it."""
        append(self._smb, path, line)

    def read_stream(self, path: PurePosixPath) -> Iterator[bytes]:
        """Return an iterator over the file's content in 1 MiB chunks (never through a link)."""
        return read_chunks(self._smb, path)

    def rename(self, source: PurePosixPath, target: PurePosixPath) -> None:
        """Rename a file or directory; the target must not exist."""
        smb = self._smb
        old = smb.remote(source)
        new = smb.remote(target)
        with smb.errors("rename", source):
            if smb.attributes(old) is None:
                raise ShareUnavailableError(f"{smb.show(source)} does not exist")
            if smb.attributes(new) is not None:
                raise ShareUnavailableError(f"{smb.show(target)} already exists")
        rename_without_replacing(smb, old, new, target)

    def replace(self, source: PurePosixPath, target: PurePosixPath) -> None:
        """Rename the file `source` over `target`: one SMB rename with ReplaceIfExists.

        The server swaps the names atomically; it refuses (and nothing changes) while another
        client holds `target` open without delete sharing.
        """
        smb = self._smb
        old = smb.remote(source)
        new = smb.remote(target)
        with smb.errors("replace", target):
            if smb.attributes(old) is None:
                raise ShareUnavailableError(f"{smb.show(source)} does not exist")
            for path, remote in ((source, old), (target, new)):
                attributes = smb.attributes(remote)
                if attributes is not None and (
                    is_reparse_point(attributes) or is_plain_directory(attributes)
                ):
                    raise ShareUnavailableError(f"{smb.show(path)} is not a regular file")
        replace_file(smb, old, new, target)

    def list_dir(self, path: PurePosixPath) -> list[Entry]:
        """Return the entries of a directory sorted by name; a missing directory is empty."""
        smb = self._smb
        remote = smb.remote(path)
        with smb.errors("list", path):
            attributes = smb.attributes(remote)
            if attributes is None:
                return []
            require_directory(smb, attributes, path)
            entries = [entry(smb, remote, listed) for listed in scan(smb, remote)]
        return sorted(entries, key=lambda found: found.name)

    def exists(self, path: PurePosixPath) -> bool:
        """Tell whether anything (a link included) exists at `path`."""
        remote = self._smb.remote(path)
        with self._smb.errors("inspect", path):
            return self._smb.attributes(remote) is not None

    def delete_file(self, path: PurePosixPath) -> None:
        """Delete one file, or a link itself (never its target)."""
        smb = self._smb
        remote = smb.remote(path)
        with smb.errors("delete", path):
            attributes = smb.existing(remote, path, "delete")
            if is_plain_directory(attributes):
                raise ShareUnavailableError(f"cannot delete {smb.show(path)}: it is a directory")
            delete_entry(smb, remote, attributes)

    def delete_tree(self, path: PurePosixPath) -> None:
        """Delete a directory and everything in it; links inside are removed, not followed.

        Raises:
            ShareUnavailableError: `path` is the root, missing, a link or not a directory, or
                something in it cannot be deleted (a server that hides links, such as Samba with
                `follow symlinks = no`, then refuses to remove their directory).
        """
        smb = self._smb
        if not path.parts:
            raise ShareUnavailableError(f"refusing to delete the share root {self.unc.source}")
        remote = smb.remote(path)
        with smb.errors("delete", path):
            attributes = smb.existing(remote, path, "delete")
            if is_reparse_point(attributes):
                raise ShareUnavailableError(f"{smb.show(path)} is a symlink, not a directory")
            require_directory(smb, attributes, path)
            remove_tree(smb, remote)
