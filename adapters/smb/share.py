"""SmbFileShare: a `//host/share[/path]` share reached in userspace with smbprotocol's smbclient.

`[share] cifs_driver = "smb"`: no kernel mount, no root, no sudo. `mount` opens an SMB 3 session
(encrypted by default, as Azure Files requires) with `storage-name` and `storage-key`; `unmount`
closes it. Every instance keeps its own connection pool, so unmounting one client's share never
drops another's. Writes go to `<name>.partial` (exclusive create), are flushed (an SMB FLUSH, the
server's fsync) and renamed without replacing, which the server refuses atomically when the
target exists. Reparse points and mfsymlink files count as symlinks and are never followed.

Tested against a real Samba server: tests/contract/test_file_share.py (the `smb` parameter) and
tests/integration/test_smb_share.py.
"""

from __future__ import annotations

import errno
import hashlib
import io
import logging
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from pathlib import PurePosixPath
from typing import Any, BinaryIO, NamedTuple, cast

import smbclient

from adapters.cifs.unc import UncPath, parse_unc
from adapters.smb.errors import SmbFailure, error_number, smb_errors
from adapters.smb.links import (
    DIRECTORY,
    MFSYMLINK_MAGIC,
    is_plain_directory,
    is_reparse_point,
    may_be_mfsymlink,
)
from domain.models.redaction import Redactor
from ports.errors import ConfigError, ShareUnavailableError
from ports.file_share import Entry, FileShare, MountOutcome, ShareTarget, WriteReceipt

logger = logging.getLogger(__name__)

DEFAULT_SMB_PORT = 445
DEFAULT_CONNECTION_TIMEOUT_SECONDS = 30.0
PARTIAL_SUFFIX = ".partial"
READ_CHUNK_BYTES = 1024 * 1024
_MISSING_ERRNOS = frozenset({errno.ENOENT, errno.ENOTDIR})
_FORBIDDEN_IN_NAMES = frozenset("\\:\0")
"""A backslash would split a name on the server and a colon would name an alternate stream."""


class _Listed(NamedTuple):
    """One entry as the server lists it."""

    name: str
    attributes: int
    size: int


class SmbFileShare(FileShare):
    """A client's share over SMB 2/3, rooted at the folder the UNC names.

    Args:
        target: the share (`//host/share[/path]`), user (`storage-name`), key (`storage-key`).
        redactor: learns the storage key; masks every error text with it.
        port: the server's SMB port (445; tests use a Samba server on a free port).
        encrypt: require SMB 3 encryption (Azure Files refuses unencrypted sessions from outside
            its region).
        connection_timeout: seconds to wait for the TCP connection.
    """

    def __init__(
        self,
        target: ShareTarget,
        *,
        redactor: Redactor,
        port: int = DEFAULT_SMB_PORT,
        encrypt: bool = True,
        connection_timeout: float = DEFAULT_CONNECTION_TIMEOUT_SECONDS,
    ) -> None:
        if not target.user or target.key is None:
            raise ConfigError("storage-name and storage-key are required for a //host/share")
        redactor.add(target.key)
        self.unc: UncPath = parse_unc(target.unc)
        self.port = port
        self._user = target.user
        self._key = target.key
        self._redactor = redactor
        self._encrypt = encrypt
        self._connection_timeout = connection_timeout
        # smbclient's pool is global by default; one of our own keeps shares independent.
        self._connections: dict[str, Any] = {}

    def mount(self) -> MountOutcome:
        """Open an SMB session to the server and check that the share root is a directory.

        Raises:
            ShareUnavailableError: The server cannot be reached, refuses the login, or the root
                folder is missing or not a directory.
        """
        root = self.unc.source
        try:
            with smb_errors(f"connect to {root} as", self._user, self._redactor):
                smbclient.register_session(
                    self.unc.host,
                    username=self._user,
                    password=self._key.get_secret_value(),
                    port=self.port,
                    encrypt=self._encrypt,
                    connection_timeout=self._connection_timeout,
                    connection_cache=self._connections,
                )
            with smb_errors("open the share root", root, self._redactor):
                attributes = self._attributes(self.unc.windows)
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
        smbclient.reset_connection_cache(fail_on_error=False, connection_cache=self._connections)

    def make_dirs(self, path: PurePosixPath) -> None:
        """Create `path` and its missing parents; existing directories are fine."""
        self._remote(path)
        for depth in range(1, len(path.parts) + 1):
            current = PurePosixPath(*path.parts[:depth])
            remote = self._remote(current)
            with self._errors("create directory", current):
                try:
                    smbclient.mkdir(remote, **self._session())
                    continue
                except OSError as error:
                    if error.errno != errno.EEXIST:
                        raise
                attributes = self._attributes(remote)
            if attributes is None:
                raise ShareUnavailableError(f"cannot create directory {self._show(current)}")
            if is_reparse_point(attributes):
                raise ShareUnavailableError(
                    f"{self._show(current)} is a symlink; refusing to follow it"
                )
            if not is_plain_directory(attributes):
                raise ShareUnavailableError(f"{self._show(current)} exists and is not a directory")

    def write_stream(self, path: PurePosixPath, chunks: Iterable[bytes]) -> WriteReceipt:
        """Stream `chunks` to `<name>.partial`, flush it and rename it to `path`.

        Raises:
            ShareUnavailableError: `path` exists, or the share cannot be written
                (ShareFullError when it is out of space).
        """
        remote = self._remote(path)
        partial = remote + PARTIAL_SUFFIX
        with self._errors("write", path):
            if self._attributes(remote) is not None:
                raise ShareUnavailableError(f"{self._show(path)} already exists")
            self._remove_stale_partial(partial, path)
            opened = smbclient.open_file(partial, mode="xb", **self._session())
            file = cast(io.BufferedWriter, opened)
        try:
            try:
                size, sha256 = self._copy_chunks(file, chunks, path)
                with self._errors("flush", path):
                    _flush_to_disk(file)
            except BaseException:
                _close_quietly(file)
                raise
            with self._errors("close", path):
                file.close()
            self._rename_remote(partial, remote, path)
        except BaseException:
            self._discard(partial)
            raise
        return WriteReceipt(path, size, sha256)

    def append_line(self, path: PurePosixPath, line: str) -> None:
        """Append `line` and a newline to a file (created when absent), then flush it.

        One writer at a time is assumed (audit logs are written under the share's lock): the
        end of the file is read when it is opened.
        """
        remote = self._remote(path)
        data = line.rstrip("\n").encode() + b"\n"
        with self._errors("append to", path):
            attributes = self._attributes(remote)
            if attributes is not None:
                if is_reparse_point(attributes):
                    raise ShareUnavailableError(
                        f"{self._show(path)} is a symlink; refusing to follow it"
                    )
                if is_plain_directory(attributes):
                    raise ShareUnavailableError(
                        f"cannot append to {self._show(path)}: it is a directory"
                    )
            with smbclient.open_file(remote, mode="ab", **self._session()) as file:
                file.write(data)
                _flush_to_disk(file)

    def read_stream(self, path: PurePosixPath) -> Iterator[bytes]:
        """Return an iterator over the file's content in 1 MiB chunks (never through a link)."""
        return self._read_chunks(path)

    def rename(self, source: PurePosixPath, target: PurePosixPath) -> None:
        """Rename a file or directory; the target must not exist."""
        old = self._remote(source)
        new = self._remote(target)
        with self._errors("rename", source):
            if self._attributes(old) is None:
                raise ShareUnavailableError(f"{self._show(source)} does not exist")
            if self._attributes(new) is not None:
                raise ShareUnavailableError(f"{self._show(target)} already exists")
        self._rename_remote(old, new, target)

    def list_dir(self, path: PurePosixPath) -> list[Entry]:
        """Return the entries of a directory sorted by name; a missing directory is empty."""
        remote = self._remote(path)
        with self._errors("list", path):
            attributes = self._attributes(remote)
            if attributes is None:
                return []
            self._require_directory(attributes, path)
            found = self._scan(remote)
            entries = [self._entry(remote, listed) for listed in found]
        return sorted(entries, key=lambda entry: entry.name)

    def exists(self, path: PurePosixPath) -> bool:
        """Tell whether anything (a link included) exists at `path`."""
        remote = self._remote(path)
        with self._errors("inspect", path):
            return self._attributes(remote) is not None

    def delete_file(self, path: PurePosixPath) -> None:
        """Delete one file, or a link itself (never its target)."""
        remote = self._remote(path)
        with self._errors("delete", path):
            attributes = self._attributes(remote)
            if attributes is None:
                raise ShareUnavailableError(f"cannot delete {self._show(path)}: it does not exist")
            if is_plain_directory(attributes):
                raise ShareUnavailableError(f"cannot delete {self._show(path)}: it is a directory")
            self._delete_entry(remote, attributes)

    def delete_tree(self, path: PurePosixPath) -> None:
        """Delete a directory and everything in it; links inside are removed, not followed.

        Raises:
            ShareUnavailableError: `path` is the root, missing, a link or not a directory, or
                something in it cannot be deleted (a server that hides links, such as Samba with
                `follow symlinks = no`, then refuses to remove their directory).
        """
        if not path.parts:
            raise ShareUnavailableError(f"refusing to delete the share root {self.unc.source}")
        remote = self._remote(path)
        with self._errors("delete", path):
            attributes = self._attributes(remote)
            if attributes is None:
                raise ShareUnavailableError(f"cannot delete {self._show(path)}: it does not exist")
            if is_reparse_point(attributes):
                raise ShareUnavailableError(f"{self._show(path)} is a symlink, not a directory")
            self._require_directory(attributes, path)
            self._remove_tree(remote)

    def _session(self) -> dict[str, Any]:
        """Return the keywords every smbclient call takes to find (or reopen) this session."""
        return {
            "username": self._user,
            "password": self._key.get_secret_value(),
            "port": self.port,
            "encrypt": self._encrypt,
            "connection_timeout": self._connection_timeout,
            "connection_cache": self._connections,
        }

    def _remote(self, path: PurePosixPath) -> str:
        r"""Map a share path to `\\host\share[\root]\a\b`, refusing escapes and odd names."""
        if path.is_absolute():
            raise ShareUnavailableError(f"share path {path} must be relative")
        if ".." in path.parts:
            raise ShareUnavailableError(f"share path {path} must not contain '..'")
        if any(_FORBIDDEN_IN_NAMES.intersection(part) for part in path.parts):
            raise ShareUnavailableError(f"share path {path} holds a backslash, colon or NUL")
        return "\\".join((self.unc.windows, *path.parts))

    def _show(self, path: PurePosixPath) -> str:
        """Return how a share path appears in messages: `//host/share/root/path`."""
        return "/".join((self.unc.source, *path.parts))

    def _errors(self, action: str, path: PurePosixPath) -> AbstractContextManager[None]:
        return smb_errors(action, self._show(path), self._redactor)

    def _attributes(self, remote: str) -> int | None:
        """Return the SMB attributes of `remote` itself (links not followed); None if missing."""
        try:
            return int(smbclient.lstat(remote, **self._session()).st_file_attributes)
        except OSError as error:
            if error.errno in _MISSING_ERRNOS:
                return None
            raise

    def _require_directory(self, attributes: int, path: PurePosixPath) -> None:
        if is_reparse_point(attributes):
            raise ShareUnavailableError(f"{self._show(path)} is a symlink; refusing to follow it")
        if not is_plain_directory(attributes):
            raise ShareUnavailableError(f"{self._show(path)} is not a directory")

    def _scan(self, remote: str) -> list[_Listed]:
        """Return what the server lists in a directory, the directory handle closed."""
        with smbclient.scandir(remote, **self._session()) as found:
            return [
                _Listed(
                    str(entry.smb_info.file_name),
                    int(entry.smb_info.file_attributes),
                    int(entry.smb_info.end_of_file),
                )
                for entry in found
            ]

    def _entry(self, remote: str, listed: _Listed) -> Entry:
        name, attributes, size = listed
        if is_reparse_point(attributes):
            return Entry(name, is_dir=False, is_symlink=True)
        if is_plain_directory(attributes):
            return Entry(name, is_dir=True)
        if may_be_mfsymlink(attributes, size) and self._is_mfsymlink(f"{remote}\\{name}"):
            return Entry(name, is_dir=False, is_symlink=True)
        return Entry(name, is_dir=False, size=size)

    def _is_mfsymlink(self, remote: str) -> bool:
        with smbclient.open_file(
            remote, mode="rb", buffering=0, share_access="rwd", **self._session()
        ) as file:
            return bytes(file.read(len(MFSYMLINK_MAGIC))) == MFSYMLINK_MAGIC

    def _copy_chunks(
        self, file: io.BufferedWriter, chunks: Iterable[bytes], path: PurePosixPath
    ) -> tuple[int, str]:
        """Write every chunk as it arrives; errors from the chunks themselves pass unchanged."""
        digest = hashlib.sha256()
        size = 0
        for chunk in chunks:
            digest.update(chunk)
            size += len(chunk)
            with self._errors("write", path):
                file.write(chunk)
        return size, digest.hexdigest()

    def _rename_remote(self, old: str, new: str, target: PurePosixPath) -> None:
        """Rename without replacing: the server refuses an existing target, atomically."""
        with self._errors("rename", target):
            try:
                smbclient.rename(old, new, **self._session())
            except OSError as error:
                if error.errno == errno.EEXIST:
                    raise ShareUnavailableError(f"{self._show(target)} already exists") from None
                raise

    def _remove_stale_partial(self, partial: str, path: PurePosixPath) -> None:
        """Remove what an interrupted earlier write left behind; a directory there is refused."""
        attributes = self._attributes(partial)
        if attributes is None:
            return
        if is_plain_directory(attributes):
            raise ShareUnavailableError(f"{self._show(path)}{PARTIAL_SUFFIX} is a directory")
        logger.info("removing stale partial file %s%s", self._show(path), PARTIAL_SUFFIX)
        self._delete_entry(partial, attributes)

    def _discard(self, partial: str) -> None:
        """Remove a partial file after a failed write, never masking the original error."""
        try:
            smbclient.remove(partial, **self._session())
        except SmbFailure as error:
            if error_number(error) not in _MISSING_ERRNOS:
                logger.warning(
                    "cannot remove partial file %s: %s", partial, self._redactor.redact(str(error))
                )

    def _delete_entry(self, remote: str, attributes: int) -> None:
        """Delete a file or a link itself; smbclient opens both without following reparse points."""
        if attributes & DIRECTORY:
            smbclient.rmdir(remote, **self._session())
        else:
            smbclient.remove(remote, **self._session())

    def _remove_tree(self, remote: str) -> None:
        for name, attributes, _ in self._scan(remote):
            child = f"{remote}\\{name}"
            if is_plain_directory(attributes):
                self._remove_tree(child)
            else:
                self._delete_entry(child, attributes)
        smbclient.rmdir(remote, **self._session())

    def _read_chunks(self, path: PurePosixPath) -> Iterator[bytes]:
        remote = self._remote(path)
        with self._errors("read", path):
            attributes = self._attributes(remote)
            if attributes is None:
                raise ShareUnavailableError(f"cannot read {self._show(path)}: it does not exist")
            if is_reparse_point(attributes):
                raise ShareUnavailableError(f"{self._show(path)} is a symlink; refusing to read it")
            if is_plain_directory(attributes):
                raise ShareUnavailableError(f"cannot read {self._show(path)}: it is a directory")
            file = cast(
                BinaryIO,
                smbclient.open_file(
                    remote, mode="rb", buffering=0, share_access="r", **self._session()
                ),
            )
        try:
            while True:
                with self._errors("read", path):
                    chunk = file.read(READ_CHUNK_BYTES)
                if not chunk:
                    return
                yield bytes(chunk)
        finally:
            _close_quietly(file)


def _flush_to_disk(file: io.BufferedWriter) -> None:
    """Send the buffered bytes, then an SMB FLUSH: the server's fsync of the file."""
    file.flush()
    # BufferedWriter.flush only writes its buffer; the raw file's flush is the SMB FLUSH.
    file.raw.flush()


def _close_quietly(file: BinaryIO | io.BufferedWriter) -> None:
    """Close a handle on an error path: the first error is the one to report."""
    try:
        file.close()
    except SmbFailure as error:
        logger.warning("cannot close an SMB handle: %s", error)
