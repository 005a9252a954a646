"""InMemoryArchiveReader: reads InMemoryDumper's archives, with failure switches."""

from __future__ import annotations

from collections.abc import Generator, Iterable, Mapping

from ports.archive_reader import ArchiveListing, ArchiveReader
from ports.errors import ArchiveError

DUMP_MAGIC = b"PGDMP"


class InMemoryArchiveReader(ArchiveReader):
    """An archive is anything starting with `PGDMP`; its entries are its `;`-ended chunks.

    An archive that does not end with `;` is cut short.

    `tables` is the number of TABLE DATA entries every archive reports; `broken` maps an
    operation (`check_archive`, `to_sql`) to the error it raises after the stream was consumed.
    """

    def __init__(self, *, tables: int = 3, broken: Mapping[str, Exception] | None = None) -> None:
        self.tables = tables
        self.broken = dict(broken or {})

    def check_archive(self, archive: Iterable[bytes]) -> ArchiveListing:
        """Consume the stream and list it when it is an archive."""
        data = b"".join(archive)
        self._check("check_archive")
        _require_archive(data)
        return ArchiveListing(entries=data.count(b";"), tables=self.tables)

    def to_sql(self, archive: Iterable[bytes]) -> Generator[bytes, None, None]:
        """Yield `-- SQL of ` and the archive."""
        data = b"".join(archive)
        self._check("to_sql")
        _require_archive(data)
        yield b"-- SQL of " + data

    def _check(self, operation: str) -> None:
        if operation in self.broken:
            raise self.broken[operation]


def _require_archive(data: bytes) -> None:
    if not data.startswith(DUMP_MAGIC):
        raise ArchiveError("pg_restore: input file does not appear to be a valid archive")
    if not data.endswith(b";"):
        raise ArchiveError("pg_restore: error: could not read from input file: end of file")
