"""Store one dump on the share: encrypt it on the way, and record what happened for the manifest."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from contextlib import closing
from datetime import datetime
from pathlib import PurePosixPath

from domain.framework.machine import describe
from domain.models.manifest import DumpRecord, DumpStatus
from ports.clock import Clock
from ports.encryptor import Recipients
from ports.errors import LtsError
from ports.file_share import FileShare

logger = logging.getLogger("lts.backup")


def store_dump(
    *,
    name: str,
    path: PurePosixPath,
    source: Iterable[bytes],
    recipients: Recipients,
    share: FileShare,
    clock: Clock,
    compression: str,
) -> DumpRecord:
    """Stream `source` through the recipients' encryption into `path` (atomic on the share).

    Returns the manifest record: `ok` with the stored size and sha256, or `failed` with the one
    line explaining why (a failed dump, gpg, or the share); nothing is left under `path` then.
    `compression` says how `source` was compressed (`zstd:3`, `gzip:6`, `none`), for the record.
    """
    started = clock.now()
    try:
        stream = recipients.encrypt(source)
        with closing(stream):
            receipt = share.write_stream(path, stream)
    except LtsError as exc:
        return failed_record(
            name=name, path=path, error=exc, started=started, clock=clock, compression=compression
        )
    logger.info("stored %s: %d bytes", receipt.path, receipt.bytes)
    return DumpRecord(
        name=name,
        file=path.name,
        bytes=receipt.bytes,
        sha256=receipt.sha256,
        status=DumpStatus.OK,
        started=started,
        finished=clock.now(),
        compression=compression,
    )


def failed_record(
    *,
    name: str,
    path: PurePosixPath,
    error: Exception,
    started: datetime,
    clock: Clock,
    compression: str,
) -> DumpRecord:
    """Return the manifest record of a dump that failed with `error`: nothing was stored."""
    return DumpRecord(
        name=name,
        file=path.name,
        status=DumpStatus.FAILED,
        error=describe(error),
        started=started,
        finished=clock.now(),
        compression=compression,
    )
