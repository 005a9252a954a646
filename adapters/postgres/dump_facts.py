"""What a database dump held, taken while it is made: its TOC counts and its tables' rows.

`TocTap` is the tap on pg_dump's output (`tee` into `pg_restore --list`, see
adapters/process/tap.py): pg_dump writes the archive's table of contents first, even to a pipe,
so pg_restore lists it from the copy while the dump streams on (to zstd for `zstd:N`, then gpg):
the counts are the archive's own, whatever compresses it afterwards. `open_snapshot` starts the
transaction whose exported snapshot pg_dump uses and in which the rows are counted
(snapshot.py). `PgDatabaseDump` holds the three and answers `facts()` once the stream ended.
Tested by tests/integration/test_postgres_dumper.py against a real server.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from adapters.postgres.connection import connect
from adapters.postgres.credentials import Credentials
from adapters.postgres.listing import ListingError, parse_listing
from adapters.postgres.snapshot import SnapshotCounter
from adapters.process import ChildFailure, ProcessStream, Stage, Tap, child_env
from domain.models.redaction import Redactor
from ports.archive_reader import ArchiveListing
from ports.database import ServerTarget
from ports.dumper import DatabaseDump, DumpFacts
from ports.errors import DatabaseError, DumpError


def open_snapshot(
    target: ServerTarget,
    database: str,
    credentials: Credentials,
    redactor: Redactor,
    connect_timeout: int,
) -> SnapshotCounter:
    """Connect to `database` and export a snapshot for pg_dump (not counting yet).

    Raises:
        DumpError: the database cannot be reached, or the snapshot not exported.
    """
    try:
        conn = connect(target, credentials, database, redactor, connect_timeout)
    except DatabaseError as exc:
        raise DumpError(str(exc)) from None
    return SnapshotCounter(conn, database, redactor)


class TocTap:
    """`pg_restore --list` reading a copy of pg_dump's output; keeps what it counted."""

    def __init__(self, pg_restore: Path, base_env: Mapping[str, str], redactor: Redactor) -> None:
        self._pg_restore = pg_restore
        self._env = child_env(base_env, LC_ALL="C")
        self._redactor = redactor
        self.listing: ArchiveListing | None = None

    def tap(self) -> Tap:
        """Return the tap to put on pg_dump's stage."""
        reader = Stage(
            (str(self._pg_restore), "--list"),
            self._env,
            "pg_restore --list",
            _listing_error,
            self._redactor,
        )
        return Tap(reader, self._read)

    def _read(self, output: bytes) -> None:
        try:
            self.listing = parse_listing(output.decode("utf-8", errors="replace"))
        except ListingError as exc:
            raise DumpError(f"the dump's table of contents cannot be read: {exc}") from None


def _listing_error(failure: ChildFailure) -> DumpError:
    return DumpError(f"reading the dump's table of contents failed: {failure.message}")


class PgDatabaseDump(DatabaseDump):
    """A database's dump stream, the tap on its table of contents, and its row counter."""

    def __init__(self, stream: ProcessStream, toc: TocTap, counter: SnapshotCounter | None) -> None:
        self._stream = stream
        self._toc = toc
        self._counter = counter

    @property
    def stream(self) -> ProcessStream:
        """Return the dump's stream: pg_dump's, through zstd for `zstd:N` (gpg is appended next)."""
        return self._stream

    @property
    def snapshot_id(self) -> str | None:
        """Return the exported snapshot pg_dump runs in, None without counting."""
        return self._counter.snapshot_id if self._counter is not None else None

    def facts(self) -> DumpFacts:
        """Return the TOC counts and (when counted) the rows; see the DatabaseDump port."""
        listing = self._toc.listing
        if listing is None:
            raise DumpError("the dump's table of contents was not read (the dump did not end)")
        if self._counter is None:
            return DumpFacts(toc_entries=listing.entries, table_data_entries=listing.tables)
        try:
            tables, large_objects = self._counter.result()
        except DumpError as exc:
            return DumpFacts(
                toc_entries=listing.entries, table_data_entries=listing.tables, count_error=str(exc)
            )
        return DumpFacts(
            toc_entries=listing.entries,
            table_data_entries=listing.tables,
            tables=tables,
            large_objects=large_objects,
        )

    def close(self) -> None:
        """Stop the stream if it still runs, and end the snapshot's transaction."""
        try:
            self._stream.close()
        finally:
            if self._counter is not None:
                self._counter.close()
