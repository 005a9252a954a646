"""Files of an SMB share: atomic streamed writes, durable appends, chunked reads.

A write goes to `<name>.partial` (exclusive create), is flushed (an SMB FLUSH, the server's
fsync) and renamed without replacing, which the server refuses atomically when the target
exists; a failed write removes its partial file. Reads never go through a link. Tested against
a real Samba server (tests/integration/test_smb_share.py, tests/contract/test_file_share.py).
"""

from __future__ import annotations

import errno
import hashlib
import io
import logging
from collections.abc import Iterable, Iterator
from pathlib import PurePosixPath
from typing import BinaryIO, cast

import smbclient
from smbclient._io import SMBFileTransaction, SMBRawIO, set_info
from smbprotocol.file_info import FileRenameInformation
from smbprotocol.open import CreateOptions, FilePipePrinterAccessMask

from adapters.smb.connection import MISSING_ERRNOS, SmbConnection
from adapters.smb.errors import SmbFailure, error_number
from adapters.smb.links import is_plain_directory, is_reparse_point
from adapters.smb.tree import delete_entry
from ports.errors import ShareUnavailableError
from ports.file_share import WriteReceipt

logger = logging.getLogger("lts.smb")

PARTIAL_SUFFIX = ".partial"
READ_CHUNK_BYTES = 1024 * 1024


def write_atomically(
    connection: SmbConnection, path: PurePosixPath, chunks: Iterable[bytes]
) -> WriteReceipt:
    """Stream `chunks` to `<name>.partial`, flush it and rename it to `path`.

    Raises:
        ShareUnavailableError: `path` exists, or the share cannot be written
            (ShareFullError when it is out of space).
    """
    remote = connection.remote(path)
    partial = remote + PARTIAL_SUFFIX
    with connection.errors("write", path):
        if connection.attributes(remote) is not None:
            raise ShareUnavailableError(f"{connection.show(path)} already exists")
        _remove_stale_partial(connection, partial, path)
        opened = smbclient.open_file(partial, mode="xb", **connection.session())
        file = cast(io.BufferedWriter, opened)
    try:
        try:
            size, sha256 = _copy_chunks(connection, file, chunks, path)
            with connection.errors("flush", path):
                _flush_to_disk(file)
        except BaseException:
            _close_quietly(file)
            raise
        with connection.errors("close", path):
            file.close()
        rename_without_replacing(connection, partial, remote, path)
    except BaseException:
        _discard(connection, partial)
        raise
    return WriteReceipt(path, size, sha256)


def append(connection: SmbConnection, path: PurePosixPath, line: str) -> None:
    """Append `line` and a newline to a file (created when absent), then flush it.

    One writer at a time is assumed (audit logs are written under the share's lock): the end of
    the file is read when it is opened.
    """
    remote = connection.remote(path)
    data = line.rstrip("\n").encode() + b"\n"
    with connection.errors("append to", path):
        attributes = connection.attributes(remote)
        if attributes is not None:
            if is_reparse_point(attributes):
                raise ShareUnavailableError(
                    f"{connection.show(path)} is a symlink; refusing to follow it"
                )
            if is_plain_directory(attributes):
                raise ShareUnavailableError(
                    f"cannot append to {connection.show(path)}: it is a directory"
                )
        with smbclient.open_file(remote, mode="ab", **connection.session()) as file:
            file.write(data)
            _flush_to_disk(file)


def read_chunks(connection: SmbConnection, path: PurePosixPath) -> Iterator[bytes]:
    """Yield a file's content in chunks of at most 1 MiB; a link or directory is refused."""
    remote = connection.remote(path)
    with connection.errors("read", path):
        attributes = connection.existing(remote, path, "read")
        if is_reparse_point(attributes):
            raise ShareUnavailableError(
                f"{connection.show(path)} is a symlink; refusing to read it"
            )
        if is_plain_directory(attributes):
            raise ShareUnavailableError(f"cannot read {connection.show(path)}: it is a directory")
        file = cast(
            BinaryIO,
            smbclient.open_file(
                remote, mode="rb", buffering=0, share_access="r", **connection.session()
            ),
        )
    try:
        while True:
            with connection.errors("read", path):
                chunk = file.read(READ_CHUNK_BYTES)
            if not chunk:
                return
            yield bytes(chunk)
    finally:
        _close_quietly(file)


def rename_without_replacing(
    connection: SmbConnection, old: str, new: str, target: PurePosixPath
) -> None:
    """Rename `old` to `new`; the server refuses an existing target, atomically."""
    with connection.errors("rename", target):
        try:
            smbclient.rename(old, new, **connection.session())
        except OSError as error:
            if error.errno == errno.EEXIST:
                raise ShareUnavailableError(f"{connection.show(target)} already exists") from None
            raise


def replace_file(connection: SmbConnection, old: str, new: str, target: PurePosixPath) -> None:
    """Rename `old` over `new` in one SMB rename with ReplaceIfExists (atomic on the server).

    smbclient.replace first opens the target for FILE_EXECUTE, which Samba refuses on a 0600
    file; the rename itself needs only DELETE access to the source, so it is done here directly.
    """
    with connection.errors("replace", target):
        # `\\host\share\a\b`: the rename names its target relative to the share.
        relative = new.split("\\", 4)[4]
        with (
            SMBRawIO(
                old,
                mode="r",
                share_access="rwd",
                desired_access=FilePipePrinterAccessMask.DELETE,
                create_options=CreateOptions.FILE_OPEN_REPARSE_POINT,
                **connection.session(),
            ) as raw,
            SMBFileTransaction(raw) as transaction,
        ):
            rename = FileRenameInformation()
            rename["replace_if_exists"] = True
            rename["file_name"] = relative
            set_info(transaction, rename)


def _copy_chunks(
    connection: SmbConnection,
    file: io.BufferedWriter,
    chunks: Iterable[bytes],
    path: PurePosixPath,
) -> tuple[int, str]:
    """Write every chunk as it arrives; errors from the chunks themselves pass unchanged."""
    digest = hashlib.sha256()
    size = 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
        with connection.errors("write", path):
            file.write(chunk)
    return size, digest.hexdigest()


def _remove_stale_partial(connection: SmbConnection, partial: str, path: PurePosixPath) -> None:
    """Remove what an interrupted earlier write left behind; a directory there is refused."""
    attributes = connection.attributes(partial)
    if attributes is None:
        return
    if is_plain_directory(attributes):
        raise ShareUnavailableError(f"{connection.show(path)}{PARTIAL_SUFFIX} is a directory")
    logger.info("removing stale partial file %s%s", connection.show(path), PARTIAL_SUFFIX)
    delete_entry(connection, partial, attributes)


def _discard(connection: SmbConnection, partial: str) -> None:
    """Remove a partial file after a failed write, never masking the original error."""
    try:
        smbclient.remove(partial, **connection.session())
    except SmbFailure as error:
        if error_number(error) not in MISSING_ERRNOS:
            logger.warning(
                "cannot remove partial file %s: %s",
                partial,
                connection.redactor.redact(str(error)),
            )


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
