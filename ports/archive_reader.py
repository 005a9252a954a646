"""The ArchiveReader port: read a custom-format archive without restoring it (pg_restore)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from ports.streams import ByteStream


@dataclass(frozen=True, slots=True)
class ArchiveListing:
    """An archive's table of contents: how many entries, how many of them TABLE DATA."""

    entries: int
    tables: int


class ArchiveReader(Protocol):
    """Read archives given as streams; nothing is written to disk.

    Archives are consumed to their end, so a failure of the stream anywhere (a decryption error)
    is raised as it is, not hidden. Raises ArchiveError with a one-line reason.
    """

    @abstractmethod
    def check_archive(self, archive: Iterable[bytes]) -> ArchiveListing:
        """Read a whole archive stream as a restore would, and return its table of contents.

        Every data block is read and decompressed (`pg_restore --file=/dev/null`), so an
        archive whose end is missing or damaged raises ArchiveError, also when its table of
        contents reads.
        """

    @abstractmethod
    def to_sql(self, archive: Iterable[bytes]) -> ByteStream:
        """Stream the archive as plain SQL (`pg_restore -f -`)."""
