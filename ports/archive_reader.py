"""The ArchiveReader port: read a custom-format archive without restoring it (pg_restore)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from ports.streams import ByteStream


@dataclass(frozen=True, slots=True)
class ArchiveListing:
    """What `pg_restore --list` found in an archive: its table of contents entries."""

    entries: int
    tables: int


class ArchiveReader(Protocol):
    """Read archives given as streams; nothing is written to disk.

    Archives are consumed to their end, so a failure of the stream anywhere (a decryption error)
    is raised as it is, not hidden. Raises ArchiveError with a one-line reason.
    """

    @abstractmethod
    def list_archive(self, archive: Iterable[bytes]) -> ArchiveListing:
        """Read an archive stream's table of contents with `pg_restore --list`."""

    @abstractmethod
    def to_sql(self, archive: Iterable[bytes]) -> ByteStream:
        """Stream the archive as plain SQL (`pg_restore -f -`)."""
