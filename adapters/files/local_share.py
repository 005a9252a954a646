"""LocalDirFileShare: a client's share in a local directory (`storage-unc = file:///path`).

Tested against the FileShare contract (tests/contract/test_file_share.py) and on a real file
system, tmpfs included (tests/integration/test_local_share.py).
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import shutil
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from ports.errors import ShareFullError, ShareUnavailableError
from ports.file_share import Entry, FileShare, MountOutcome, WriteReceipt

logger = logging.getLogger(__name__)

PARTIAL_SUFFIX = ".partial"
READ_CHUNK_BYTES = 1024 * 1024
FILE_MODE = 0o600
DIR_MODE = 0o700

# A full share is reported as such (SPEC 11), whatever the quota kind.
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
# CIFS (and some FUSE file systems) refuse fsync on a directory; the data itself was already
# fsynced, so that refusal is expected (SPEC 7), not a failure.
_DIR_FSYNC_UNSUPPORTED = frozenset({errno.EINVAL, errno.ENOTSUP, errno.EBADF})


class LocalDirFileShare(FileShare):
    """A share that is a directory on a local (or already mounted) file system.

    Every path is relative to `root`; absolute paths, `..` and paths that pass through a symlink
    inside the share are refused. Symlinks are never followed.
    """

    def __init__(self, root: Path) -> None:
        self.root = root.absolute()

    def mount(self) -> MountOutcome:
        """Check that the root is a writable directory; nothing needs mounting."""
        try:
            status = self.root.stat()
        except FileNotFoundError:
            raise ShareUnavailableError(f"share root {self.root} does not exist") from None
        except OSError as error:
            raise ShareUnavailableError(
                f"share root {self.root} cannot be read: {error.strerror}"
            ) from None
        if not stat.S_ISDIR(status.st_mode):
            raise ShareUnavailableError(f"share root {self.root} is not a directory")
        # access() also reports a read-only file system (EROFS), even to root.
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise ShareUnavailableError(f"share root {self.root} is not writable")
        return MountOutcome.NOT_NEEDED

    def unmount(self) -> None:
        """Do nothing: a local directory is never mounted by this adapter."""

    def make_dirs(self, path: PurePosixPath) -> None:
        """Create `path` and its missing parents with mode 0700; existing directories are fine."""
        self._local(path)
        current = self.root
        for part in path.parts:
            current = current / part
            with _share_errors("create directory", current):
                try:
                    current.mkdir(DIR_MODE)
                    continue
                except FileExistsError:
                    pass
                status = current.lstat()
            if stat.S_ISLNK(status.st_mode):
                raise ShareUnavailableError(f"{current} is a symlink; refusing to follow it")
            if not stat.S_ISDIR(status.st_mode):
                raise ShareUnavailableError(f"{current} exists and is not a directory")

    def write_stream(self, path: PurePosixPath, chunks: Iterable[bytes]) -> WriteReceipt:
        """Stream `chunks` to `<name>.partial`, fsync it and rename it to `path`.

        Raises:
            ShareUnavailableError: `path` exists, or the share cannot be written
                (ShareFullError when it is out of space).
        """
        target = self._local(path)
        partial = target.with_name(target.name + PARTIAL_SUFFIX)
        with _share_errors("write", target):
            if _lexists(target):
                raise ShareUnavailableError(f"{target} already exists")
            _remove_stale_partial(partial)
            fd = os.open(
                partial,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                FILE_MODE,
            )
        try:
            try:
                size, sha256 = _copy_chunks(fd, chunks, target)
                with _share_errors("flush", target):
                    os.fsync(fd)
            finally:
                with _share_errors("close", target):
                    os.close(fd)
            with _share_errors("rename", partial):
                # os.rename replaces an existing target silently and CIFS has no hard links
                # (so no link-then-unlink trick): check just before, the window is tiny.
                if _lexists(target):
                    raise ShareUnavailableError(f"{target} already exists")
                partial.rename(target)
        except BaseException:
            _discard(partial)
            raise
        _fsync_dir(target.parent)
        return WriteReceipt(path, size, sha256)

    def append_line(self, path: PurePosixPath, line: str) -> None:
        """Append `line` and a newline to a 0600 file, then fsync it."""
        target = self._local(path)
        with _share_errors("append to", target):
            fd = os.open(
                target,
                os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
                FILE_MODE,
            )
            try:
                _write_all(fd, line.rstrip("\n").encode() + b"\n")
                os.fsync(fd)
            finally:
                os.close(fd)

    def read_stream(self, path: PurePosixPath) -> Iterator[bytes]:
        """Return an iterator over the file's content in 1 MiB chunks (never through a symlink)."""
        return _read_chunks(self._local(path))

    def rename(self, source: PurePosixPath, target: PurePosixPath) -> None:
        """Rename a file or directory; the target must not exist."""
        old = self._local(source)
        new = self._local(target)
        with _share_errors("rename", old):
            if not _lexists(old):
                raise ShareUnavailableError(f"{old} does not exist")
            if _lexists(new):
                raise ShareUnavailableError(f"{new} already exists")
            old.rename(new)
        _fsync_dir(new.parent)
        if old.parent != new.parent:
            _fsync_dir(old.parent)

    def list_dir(self, path: PurePosixPath) -> list[Entry]:
        """Return the entries of a directory sorted by name; a missing directory is empty."""
        directory = self._local(path)
        entries: list[Entry] = []
        with _share_errors("list", directory):
            try:
                status = directory.lstat()
            except FileNotFoundError:
                return []
            if stat.S_ISLNK(status.st_mode):
                raise ShareUnavailableError(f"{directory} is a symlink; refusing to follow it")
            with os.scandir(directory) as found:
                for item in found:
                    is_dir = item.is_dir(follow_symlinks=False)
                    is_symlink = item.is_symlink()
                    size = 0 if is_dir or is_symlink else item.stat(follow_symlinks=False).st_size
                    entries.append(Entry(item.name, is_dir, is_symlink, size))
        return sorted(entries, key=lambda entry: entry.name)

    def exists(self, path: PurePosixPath) -> bool:
        """Tell whether anything (a symlink included) exists at `path`."""
        local = self._local(path)
        with _share_errors("inspect", local):
            return _lexists(local)

    def delete_file(self, path: PurePosixPath) -> None:
        """Delete one file, or a symlink itself (never its target)."""
        local = self._local(path)
        with _share_errors("delete", local):
            local.unlink()

    def delete_tree(self, path: PurePosixPath) -> None:
        """Delete a directory and everything in it; symlinks inside are removed, not followed.

        Raises:
            ShareUnavailableError: `path` is missing, is a symlink or is not a directory.
        """
        local = self._local(path)
        if not path.parts:
            raise ShareUnavailableError(f"refusing to delete the share root {local}")
        # Without fd-based rmtree a directory swapped for a symlink mid-way could be followed.
        if not shutil.rmtree.avoids_symlink_attacks:
            raise ShareUnavailableError("refusing delete_tree: no symlink-safe rmtree here")
        with _share_errors("delete", local):
            status = local.lstat()
            if stat.S_ISLNK(status.st_mode):
                raise ShareUnavailableError(f"{local} is a symlink, not a directory")
            shutil.rmtree(local)

    def _local(self, path: PurePosixPath) -> Path:
        """Map a share path to the local path, refusing escapes and symlinked parents."""
        if path.is_absolute():
            raise ShareUnavailableError(f"share path {path} must be relative")
        if ".." in path.parts:
            raise ShareUnavailableError(f"share path {path} must not contain '..'")
        if "\0" in str(path):
            raise ShareUnavailableError("share path contains a NUL character")
        current = self.root
        for part in path.parts[:-1]:
            current = current / part
            with _share_errors("inspect", current):
                try:
                    mode = current.lstat().st_mode
                except FileNotFoundError:
                    break
            if stat.S_ISLNK(mode):
                raise ShareUnavailableError(f"{current} is a symlink; refusing to follow it")
        return self.root.joinpath(*path.parts)


@contextmanager
def _share_errors(action: str, path: Path) -> Iterator[None]:
    """Turn an OSError into ShareFullError or ShareUnavailableError with a one-line message."""
    try:
        yield
    except OSError as error:
        reason = error.strerror or str(error)
        if error.errno in _FULL_ERRNOS:
            raise ShareFullError(f"share is full: cannot {action} {path}: {reason}") from error
        raise ShareUnavailableError(f"cannot {action} {path}: {reason}") from error


def _lexists(path: Path) -> bool:
    try:
        path.lstat()
    except FileNotFoundError:
        return False
    return True


def _remove_stale_partial(partial: Path) -> None:
    """Remove what an interrupted earlier write left behind; a directory there is refused."""
    try:
        mode = partial.lstat().st_mode
    except FileNotFoundError:
        return
    if stat.S_ISDIR(mode):
        raise ShareUnavailableError(f"{partial} is a directory")
    logger.info("removing stale partial file %s", partial)
    partial.unlink()


def _copy_chunks(fd: int, chunks: Iterable[bytes], target: Path) -> tuple[int, str]:
    """Write every chunk as it arrives; errors from the chunks themselves pass unchanged."""
    digest = hashlib.sha256()
    size = 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
        with _share_errors("write", target):
            _write_all(fd, chunk)
    return size, digest.hexdigest()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _discard(partial: Path) -> None:
    """Remove a partial file after a failed write, never masking the original error."""
    try:
        partial.unlink()
    except FileNotFoundError:
        pass
    except OSError as error:
        logger.warning("cannot remove partial file %s: %s", partial, error.strerror)


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable by fsyncing its directory, where the file system allows it."""
    with _share_errors("open directory", directory):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    except OSError as error:
        if error.errno not in _DIR_FSYNC_UNSUPPORTED:
            raise ShareUnavailableError(
                f"cannot fsync directory {directory}: {error.strerror}"
            ) from error
    finally:
        os.close(fd)


def _read_chunks(local: Path) -> Iterator[bytes]:
    with _share_errors("read", local):
        fd = os.open(local, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb", buffering=0) as file:
        while True:
            with _share_errors("read", local):
                chunk = file.read(READ_CHUNK_BYTES)
            if not chunk:
                return
            yield chunk
