"""The file-system steps of LocalDirFileShare: OS errors as share errors, durable writes, reads.

Every OSError becomes a one-line ShareUnavailableError (ShareFullError when out of space), and
every rename is made durable by fsyncing its directory where the file system allows it. Tested
through LocalDirFileShare (tests/contract/test_file_share.py and
tests/integration/test_local_share.py).
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ports.errors import ShareFullError, ShareUnavailableError
from ports.streams import ReadableStream

logger = logging.getLogger("lts.files")

READ_CHUNK_BYTES = 1024 * 1024
COPY_BUFFER_BYTES = 1024 * 1024
"""The reusable buffer of a streamed write: as large as a child's enlarged pipe."""

# A full share is reported as such (SPEC 11), whatever the quota kind.
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
# CIFS (and some FUSE file systems) refuse fsync on a directory; the data itself was already
# fsynced, so that refusal is expected (SPEC 7), not a failure.
_DIR_FSYNC_UNSUPPORTED = frozenset({errno.EINVAL, errno.ENOTSUP, errno.EBADF})


@contextmanager
def share_errors(action: str, path: Path) -> Iterator[None]:
    """Turn an OSError into ShareFullError or ShareUnavailableError with a one-line message."""
    try:
        yield
    except OSError as error:
        reason = error.strerror or str(error)
        if error.errno in _FULL_ERRNOS:
            raise ShareFullError(f"share is full: cannot {action} {path}: {reason}") from error
        raise ShareUnavailableError(f"cannot {action} {path}: {reason}") from error


def check_root(root: Path) -> None:
    """Make sure `root` is a directory this job may write.

    Raises:
        ShareUnavailableError: `root` is missing, unreadable, not a directory or not writable.
    """
    try:
        status = root.stat()
    except FileNotFoundError:
        raise ShareUnavailableError(f"share root {root} does not exist") from None
    except OSError as error:
        raise ShareUnavailableError(f"share root {root} cannot be read: {error.strerror}") from None
    if not stat.S_ISDIR(status.st_mode):
        raise ShareUnavailableError(f"share root {root} is not a directory")
    # access() also reports a read-only file system (EROFS), even to root.
    if not os.access(root, os.W_OK | os.X_OK):
        raise ShareUnavailableError(f"share root {root} is not writable")


def lexists(path: Path) -> bool:
    """Tell whether anything, a dangling symlink included, exists at `path`."""
    try:
        path.lstat()
    except FileNotFoundError:
        return False
    return True


def remove_stale_partial(partial: Path) -> None:
    """Remove what an interrupted earlier write left behind; a directory there is refused."""
    try:
        mode = partial.lstat().st_mode
    except FileNotFoundError:
        return
    if stat.S_ISDIR(mode):
        raise ShareUnavailableError(f"{partial} is a directory")
    logger.info("removing stale partial file %s", partial)
    partial.unlink()


def copy_chunks(fd: int, chunks: Iterable[bytes], target: Path) -> tuple[int, str]:
    """Write every chunk as it arrives; errors from the chunks themselves pass unchanged.

    A stream that can be read into a buffer (a child's output) goes through `copy_readable`.

    Returns:
        The byte count and the sha256 (hex) of what was written.
    """
    if isinstance(chunks, ReadableStream):
        return copy_readable(fd, chunks, target)
    digest = hashlib.sha256()
    size = 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
        with share_errors("write", target):
            write_all(fd, chunk)
    return size, digest.hexdigest()


def copy_readable(fd: int, stream: ReadableStream, target: Path) -> tuple[int, str]:
    """Store a readable stream through one reusable buffer: read, hash, write the same bytes.

    The hot path of a backup (gpg's output onto the share): per buffer one copy out of the pipe
    and one into the file, hashed from the same memory that is written, with no `bytes` object
    made per chunk. bench/hot_path.py measures it against os.splice and tee + splice, which
    save nothing measurable here because sha256 is most of the cost, and which would tie the
    hash to what a file system's splice support does.
    """
    buffer = bytearray(COPY_BUFFER_BYTES)
    view = memoryview(buffer)
    digest = hashlib.sha256()
    size = 0
    while count := stream.readinto(buffer):
        data = view[:count]
        digest.update(data)
        size += count
        with share_errors("write", target):
            write_all(fd, data)
    return size, digest.hexdigest()


def write_all(fd: int, data: bytes | memoryview) -> None:
    """Write all of `data`; `os.write` may write less than it was given."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def discard(partial: Path) -> None:
    """Remove a partial file after a failed write, never masking the original error."""
    try:
        partial.unlink()
    except FileNotFoundError:
        pass
    except OSError as error:
        logger.warning("cannot remove partial file %s: %s", partial, error.strerror)


def fsync_dir(directory: Path) -> None:
    """Make a rename durable by fsyncing its directory, where the file system allows it."""
    with share_errors("open directory", directory):
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


def read_chunks(local: Path) -> Iterator[bytes]:
    """Yield a regular file's content in 1 MiB chunks; a final symlink is refused, not followed."""
    with share_errors("read", local):
        fd = os.open(local, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb", buffering=0) as file:
        while True:
            with share_errors("read", local):
                chunk = file.read(READ_CHUNK_BYTES)
            if not chunk:
                return
            yield chunk
