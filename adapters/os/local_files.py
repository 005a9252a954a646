"""PrivateLocalFiles: 0600 files on the job's host, for decrypted dumps that must leave no trace.

A file is written as a hidden `.<name>.<random>.partial` beside its target (created with O_EXCL
and mode 0600, so no other user can ever read it, whatever the umask), fsynced, and linked to its
final name only if that does not exist; a failing stream removes the partial file. Scratch files
go to the work root (made 0700). Every partial and scratch file is claimed in the job's leftovers
before it is made (adapters/process/leftovers.py), so that a later job removes the plaintext a
killed one left, in the work root or beside a decrypt's output. Tested in
tests/integration/test_restore_jobs.py and tests/reliability/test_leftovers.py.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePath

from adapters.os.paths import PRIVATE_FILE_MODE, make_private_dirs
from adapters.process.leftovers import FILE, Claim, Leftovers
from ports.errors import LocalFileError
from ports.local_files import LocalFile, LocalFiles

READ_CHUNK_BYTES = 1024 * 1024
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISLNK, "a symbolic link (give the file it points to)"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)
"""What a path can be besides a regular file, as the archive job's refusal names it."""


class PrivateLocalFiles(LocalFiles):
    """Write private files anywhere the job may, and scratch files under `work_root`."""

    def __init__(self, work_root: Path, leftovers: Leftovers | None = None) -> None:
        self.work_root = work_root
        self._leftovers = leftovers or Leftovers(work_root)
        self._claims: dict[Path, Claim] = {}
        self._lock = threading.Lock()

    def exists(self, path: PurePath) -> bool:
        """Tell whether anything (a dangling symlink too) exists at `path`."""
        return os.path.lexists(path)

    def regular_file_problem(self, path: PurePath) -> str | None:
        """Say why `path` is not a regular file to read (a symlink is not followed)."""
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            return "does not exist"
        except OSError as exc:
            return f"cannot be examined ({exc.strerror})"
        kind = next((name for test, name in _KINDS if test(mode)), None)
        if kind is not None:
            return f"is {kind}, not a regular file"
        if not os.access(path, os.R_OK):
            return "cannot be read (permission denied)"
        return None

    def write_private(self, path: PurePath, chunks: Iterable[bytes]) -> LocalFile:
        """Stream `chunks` to a new 0600 file at `path`; never overwrite anything."""
        target = Path(path)
        if not target.parent.is_dir():
            raise LocalFileError(f"{target.parent} is not a directory")
        partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial")
        size = self._write_claimed(partial, chunks)
        try:
            # link() fails when the target exists, where rename() would replace it.
            os.link(partial, target)
        except FileExistsError:
            raise LocalFileError(f"{target} already exists; nothing was written") from None
        except OSError as exc:
            raise LocalFileError(f"cannot write {target}: {exc.strerror}") from None
        finally:
            with contextlib.suppress(LocalFileError):
                self.remove(partial)
        return LocalFile(target, size)

    def write_scratch(self, chunks: Iterable[bytes], suffix: str = "") -> LocalFile:
        """Stream `chunks` to a new 0600 file of a random name under the work root."""
        try:
            make_private_dirs(self.work_root)
        except OSError as exc:
            raise LocalFileError(f"cannot make {self.work_root}: {exc.strerror}") from None
        target = self.work_root / f"scratch-{secrets.token_hex(8)}{suffix}"
        return LocalFile(target, self._write_claimed(target, chunks))

    def read_chunks(self, path: PurePath) -> Iterator[bytes]:
        """Yield the regular file at `path` in chunks of 1 MiB, not following a final symlink."""
        try:
            # O_NONBLOCK: opening a FIFO would otherwise wait for a writer forever.
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
        except OSError as exc:
            raise LocalFileError(f"cannot read {path}: {exc.strerror}") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise LocalFileError(f"{path} is not a regular file")
        with os.fdopen(fd, "rb") as file:
            while True:
                try:
                    chunk = file.read(READ_CHUNK_BYTES)
                except OSError as exc:
                    raise LocalFileError(f"cannot read {path}: {exc.strerror}") from None
                if not chunk:
                    return
                yield chunk

    def remove(self, path: PurePath) -> None:
        """Remove a file; one already gone is fine."""
        try:
            Path(path).unlink(missing_ok=True)
        except OSError as exc:
            raise LocalFileError(f"cannot remove {path}: {exc.strerror}") from None
        with self._lock:
            claim = self._claims.pop(Path(path), None)
        if claim is not None:
            claim.release()

    def _write_claimed(self, path: Path, chunks: Iterable[bytes]) -> int:
        """Claim `path` in the leftovers, then write it; a failed write releases the claim."""
        try:
            claim = self._leftovers.claim(FILE, path)
        except OSError as exc:
            raise LocalFileError(
                f"cannot note {path} in the work root {self.work_root}: {exc.strerror or exc}"
            ) from None
        try:
            size = self._write(path, chunks)
        except BaseException:
            claim.release()
            raise
        with self._lock:
            self._claims[path] = claim
        return size

    @staticmethod
    def _write(path: Path, chunks: Iterable[bytes]) -> int:
        try:
            fd = os.open(
                path,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                PRIVATE_FILE_MODE,
            )
        except OSError as exc:
            raise LocalFileError(f"cannot create {path}: {exc.strerror}") from None
        size = 0
        try:
            with os.fdopen(fd, "wb") as file:
                for chunk in chunks:
                    file.write(chunk)
                    size += len(chunk)
                file.flush()
                os.fsync(file.fileno())
        except BaseException as exc:
            with contextlib.suppress(OSError):
                path.unlink()
            if isinstance(exc, OSError):
                raise LocalFileError(f"cannot write {path}: {exc.strerror}") from None
            raise
        return size
