"""LocalDirFileShare: a client's share in a local directory (`file:///path`, or a kernel mount).

With a Mounter (adapters/files/mounter.py) the directory is a mount point: `mount` and `unmount`
go through the mounter, and once mounted the share is a local directory like any other. That is
how the kernel CIFS driver (`[share] cifs_driver = "mount"`) is composed by the container.

Tested against the FileShare contract (tests/contract/test_file_share.py), on a real file
system, tmpfs included (tests/integration/test_local_share.py), and with a mounter on fakes of
`mount` and `umount` (tests/integration/test_cifs_mount.py).
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath

from adapters.files.local_io import (
    check_root,
    copy_chunks,
    discard,
    fsync_dir,
    lexists,
    read_chunks,
    remove_stale_partial,
    share_errors,
    write_all,
)
from adapters.files.mounter import Mounter
from ports.errors import ShareUnavailableError
from ports.file_share import Entry, FileShare, MountOutcome, WriteReceipt

logger = logging.getLogger("lts.files")

PARTIAL_SUFFIX = ".partial"
FILE_MODE = 0o600
DIR_MODE = 0o700


class _NothingToMount(Mounter):
    """The mounter of a plain local directory: there is nothing to mount."""

    def mount(self) -> MountOutcome:
        """Report that nothing needed mounting."""
        return MountOutcome.NOT_NEEDED

    def unmount(self) -> None:
        """Do nothing."""


class LocalDirFileShare(FileShare):
    """A share that is a directory on a local (or mounted) file system.

    Every path is relative to `root`; absolute paths, `..` and paths that pass through a symlink
    inside the share are refused. Symlinks are never followed.

    Args:
        root: the share's directory (a mount point when `mounter` is given).
        mounter: mounts the share on `root`; without one, `root` is an ordinary directory.
    """

    def __init__(self, root: Path, mounter: Mounter | None = None) -> None:
        self.root = root.absolute()
        self.mounter: Mounter = mounter if mounter is not None else _NothingToMount()

    def mount(self) -> MountOutcome:
        """Mount through the mounter, then check that the root is a writable directory.

        A share this call mounted is unmounted again when its root fails the check, so a
        failed mount never leaves a mount behind.

        Raises:
            ShareUnavailableError: The mounter failed, or the root is missing, not a directory
                or not writable.
        """
        outcome = self.mounter.mount()
        try:
            check_root(self.root)
        except ShareUnavailableError:
            if outcome is MountOutcome.MOUNTED:
                self._unmount_after_failed_check()
            raise
        return outcome

    def unmount(self) -> None:
        """Unmount through the mounter what `mount` mounted (nothing for a plain directory)."""
        self.mounter.unmount()

    def make_dirs(self, path: PurePosixPath) -> None:
        """Create `path` and its missing parents with mode 0700; existing directories are fine."""
        self._local(path)
        current = self.root
        for part in path.parts:
            current = current / part
            with share_errors("create directory", current):
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
        with share_errors("write", target):
            if lexists(target):
                raise ShareUnavailableError(f"{target} already exists")
            remove_stale_partial(partial)
            fd = os.open(
                partial,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                FILE_MODE,
            )
        try:
            try:
                size, sha256 = copy_chunks(fd, chunks, target)
                with share_errors("flush", target):
                    os.fsync(fd)
            finally:
                with share_errors("close", target):
                    os.close(fd)
            with share_errors("rename", partial):
                # os.rename replaces an existing target silently and CIFS has no hard links
                # (so no link-then-unlink trick): check just before, the window is tiny.
                if lexists(target):
                    raise ShareUnavailableError(f"{target} already exists")
                partial.rename(target)
        except BaseException:
            discard(partial)
            raise
        fsync_dir(target.parent)
        return WriteReceipt(path, size, sha256)

    def append_line(self, path: PurePosixPath, line: str) -> None:
        """Append `line` and a newline to a 0600 file, then fsync it."""
        target = self._local(path)
        with share_errors("append to", target):
            fd = os.open(
                target,
                os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
                FILE_MODE,
            )
            try:
                write_all(fd, line.rstrip("\n").encode() + b"\n")
                os.fsync(fd)
            finally:
                os.close(fd)

    def read_stream(self, path: PurePosixPath) -> Iterator[bytes]:
        """Return an iterator over the file's content in 1 MiB chunks (never through a symlink)."""
        return read_chunks(self._local(path))

    def rename(self, source: PurePosixPath, target: PurePosixPath) -> None:
        """Rename a file or directory; the target must not exist."""
        old = self._local(source)
        new = self._local(target)
        with share_errors("rename", old):
            if not lexists(old):
                raise ShareUnavailableError(f"{old} does not exist")
            if lexists(new):
                raise ShareUnavailableError(f"{new} already exists")
            old.rename(new)
        fsync_dir(new.parent)
        if old.parent != new.parent:
            fsync_dir(old.parent)

    def replace(self, source: PurePosixPath, target: PurePosixPath) -> None:
        """Rename the regular file `source` over `target` (POSIX rename: atomic replace).

        On a kernel CIFS mount this is an SMB rename with ReplaceIfExists, atomic on the server.
        """
        old = self._local(source)
        new = self._local(target)
        with share_errors("replace", new):
            if not stat.S_ISREG(old.lstat().st_mode):
                raise ShareUnavailableError(f"{old} is not a regular file")
            if lexists(new) and not stat.S_ISREG(new.lstat().st_mode):
                raise ShareUnavailableError(f"{new} is not a regular file")
            old.replace(new)
        fsync_dir(new.parent)

    def list_dir(self, path: PurePosixPath) -> list[Entry]:
        """Return the entries of a directory sorted by name; a missing directory is empty."""
        directory = self._local(path)
        entries: list[Entry] = []
        with share_errors("list", directory):
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
        with share_errors("inspect", local):
            return lexists(local)

    def delete_file(self, path: PurePosixPath) -> None:
        """Delete one file, or a symlink itself (never its target)."""
        local = self._local(path)
        with share_errors("delete", local):
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
        with share_errors("delete", local):
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
            with share_errors("inspect", current):
                try:
                    mode = current.lstat().st_mode
                except FileNotFoundError:
                    break
            if stat.S_ISLNK(mode):
                raise ShareUnavailableError(f"{current} is a symlink; refusing to follow it")
        return self.root.joinpath(*path.parts)

    def _unmount_after_failed_check(self) -> None:
        """Unmount a share whose root failed the check; the check's error is the one reported."""
        try:
            self.mounter.unmount()
        except ShareUnavailableError as error:
            logger.error("%s", error)
