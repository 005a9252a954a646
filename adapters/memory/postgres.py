"""InMemoryDatabase and InMemoryDumper: a server and its dumps as plain data."""

from __future__ import annotations

from collections.abc import Collection, Generator, Mapping, Sequence

from adapters.memory.decompressor import zstd_frame
from domain.models.compression import is_zstd
from domain.models.manifest import TableRows
from ports.database import Database, DatabaseInfo, ServerInfo, ServerTarget
from ports.dumper import DatabaseDump, Dumper, DumperInfo, DumpFacts, DumpTool
from ports.errors import DatabaseError, DumpError, DumperTooOldError

DEFAULT_TABLES: Mapping[str, int] = {"public.t1": 10, "public.t2": 20, "public.t3": 30}
"""Every in-memory database's tables and row counts, unless `InMemoryDumper.tables` says."""


def table_rows(tables: Mapping[str, int]) -> tuple[TableRows, ...]:
    """Return `{"schema.table": rows}` as sorted TableRows."""
    rows = []
    for name, count in sorted(tables.items()):
        schema, table = name.split(".", 1)
        rows.append(TableRows(schema_name=schema, table=table, rows=count))
    return tuple(rows)


class InMemoryDatabase(Database):
    """A server with databases of given sizes.

    `error` makes it unreachable; `list_error` makes only the database listing fail;
    `unreadable` maps a database to the tables the login may not read (a DatabaseError value
    makes connecting to that database fail); `large_objects` to the large objects it may not.
    """

    def __init__(
        self,
        sizes: Mapping[str, int],
        *,
        version_num: int = 150004,
        error: DatabaseError | None = None,
        list_error: DatabaseError | None = None,
        unreadable: Mapping[str, Sequence[str] | DatabaseError] | None = None,
        large_objects: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.sizes = dict(sizes)
        self.unreadable = dict(unreadable or {})
        self.large_objects = {name: list(found) for name, found in (large_objects or {}).items()}
        self.list_error = list_error
        self.version_num = version_num
        self.error = error
        self.targets: list[ServerTarget] = []

    def server_info(self, target: ServerTarget) -> ServerInfo:
        """Return the configured version."""
        self.targets.append(target)
        if self.error is not None:
            raise self.error
        return ServerInfo(self.version_num, f"{self.version_num // 10000}.{self.version_num % 100}")

    def list_databases(self, target: ServerTarget, exclude: Collection[str]) -> list[DatabaseInfo]:
        """Return the databases not excluded, in name order."""
        self.targets.append(target)
        if self.error is not None:
            raise self.error
        if self.list_error is not None:
            raise self.list_error
        return [DatabaseInfo(n, s) for n, s in sorted(self.sizes.items()) if n not in exclude]

    def unreadable_tables(self, target: ServerTarget, database: str) -> list[str]:
        """Return the tables `unreadable` lists for `database`, or raise its error."""
        self.targets.append(target)
        if self.error is not None:
            raise self.error
        found = self.unreadable.get(database, [])
        if isinstance(found, DatabaseError):
            raise found
        return list(found)

    def unreadable_large_objects(self, target: ServerTarget, database: str) -> list[str]:
        """Return the large objects `large_objects` lists for `database`."""
        self.targets.append(target)
        return list(self.large_objects.get(database, []))


class InMemoryDumper(Dumper):
    """Dumps are `PGDMP<name>` repeated; switches make them fail.

    `broken` maps a database to the error text its dump raises after its first chunk;
    `empty` names databases whose dump writes nothing (a DumpError, as pg_dump's would be);
    `tiny` names databases whose dump is only the archive's magic bytes; `globals_error` breaks
    the globals dump; `too_old` makes `select` refuse, `select_error` fail with that error
    (a compression pg_dump or zstd cannot do). `compression` is what the tool reports; a `zstd:N`
    one frames every dump and the globals as InMemoryDecompressor expects (the facts are the
    archive's, as pg_dump's tap reads it before zstd). `dumped` records the order databases were
    dumped in. A dump holds `chunks` TOC entries and the tables of `tables` (default
    DEFAULT_TABLES), counted unless `count_errors` names the database; `snapshot_errors` makes
    starting a database's dump fail; `probe_errors` makes `probe` of a database fail.
    `open_dumps` holds the dumps not closed yet.
    """

    def __init__(
        self,
        *,
        broken: Mapping[str, str] | None = None,
        empty: Collection[str] = (),
        tiny: Collection[str] = (),
        globals_error: str | None = None,
        too_old: bool = False,
        chunks: int = 3,
        tables: Mapping[str, Mapping[str, int]] | None = None,
        count_errors: Mapping[str, str] | None = None,
        snapshot_errors: Mapping[str, str] | None = None,
        probe_errors: Mapping[str, str] | None = None,
        compression: str = "none",
        select_error: DumpError | None = None,
    ) -> None:
        self.broken = dict(broken or {})
        self.empty = set(empty)
        self.tiny = set(tiny)
        self.globals_error = globals_error
        self.too_old = too_old
        self.chunks = chunks
        self.tables = {name: dict(rows) for name, rows in (tables or {}).items()}
        self.count_errors = dict(count_errors or {})
        self.snapshot_errors = dict(snapshot_errors or {})
        self.probe_errors = dict(probe_errors or {})
        self.compression = compression
        self.select_error = select_error
        self.dumped: list[str] = []
        self.probed: list[str] = []
        self.open_dumps: list[InMemoryDatabaseDump] = []
        self.databases_in_run: list[int] = []

    def tables_of(self, database: str) -> Mapping[str, int]:
        """Return the tables and rows `database` holds."""
        return self.tables.get(database, DEFAULT_TABLES)

    def select(self, server: ServerInfo) -> InMemoryDumpTool:
        """Accept the server unless `too_old`."""
        if self.too_old:
            raise DumperTooOldError(f"pg_dump 9.6 is older than the server {server.version}")
        if self.select_error is not None:
            raise self.select_error
        info = DumperInfo(
            version=f"{server.major}.0", archive_format="custom", compression=self.compression
        )
        return InMemoryDumpTool(self, info)


class InMemoryDumpTool(DumpTool):
    """The tool InMemoryDumper selected: it dumps with its dumper's switches."""

    def __init__(self, dumper: InMemoryDumper, info: DumperInfo) -> None:
        self._dumper = dumper
        self._info = info

    @property
    def info(self) -> DumperInfo:
        """Return the version the dumper made up for the server."""
        return self._info

    def dump(
        self, target: ServerTarget, database: str, *, databases_in_run: int = 1
    ) -> InMemoryDatabaseDump:
        """Start the fake dump of `database`; remember how many databases the run said it has."""
        dumper = self._dumper
        dumper.databases_in_run.append(databases_in_run)
        if database in dumper.snapshot_errors:
            raise DumpError(f"cannot export a snapshot of {database}: ")
        dump = InMemoryDatabaseDump(dumper, database, zstd=is_zstd(self._info.compression))
        dumper.open_dumps.append(dump)
        return dump

    def probe(self, target: ServerTarget, database: str) -> None:
        """Record the probe; fail as `probe_errors` says."""
        self._dumper.probed.append(database)
        if database in self._dumper.probe_errors:
            raise DumpError(f"pg_dump exited with 1: {self._dumper.probe_errors[database]}")

    def dump_globals(self, target: ServerTarget) -> Generator[bytes, None, None]:
        """Yield fake globals SQL (framed when the compression is zstd's)."""
        globals_sql = self._globals()
        return zstd_frame(globals_sql) if is_zstd(self._info.compression) else globals_sql

    def _globals(self) -> Generator[bytes, None, None]:
        yield b"CREATE ROLE app;\n"
        if self._dumper.globals_error is not None:
            raise DumpError(f"pg_dumpall failed: {self._dumper.globals_error}")


class InMemoryDatabaseDump(DatabaseDump):
    """One fake dump: `PGDMP<name>:<i>;` per chunk (framed for zstd), then its facts."""

    def __init__(self, dumper: InMemoryDumper, database: str, *, zstd: bool = False) -> None:
        self._dumper = dumper
        self._database = database
        self._zstd = zstd
        self._ended = False
        self.closed = False

    @property
    def stream(self) -> Generator[bytes, None, None]:
        """Return the dump's chunks (fails as the dumper's switches say)."""
        return zstd_frame(self._chunks()) if self._zstd else self._chunks()

    def _chunks(self) -> Generator[bytes, None, None]:
        dumper, database = self._dumper, self._database
        dumper.dumped.append(database)
        if database in dumper.empty:
            raise DumpError("pg_dump produced no output")
        if database in dumper.tiny:
            yield b"PGDMP"
            self._ended = True
            return
        for index in range(dumper.chunks):
            yield f"PGDMP{database}:{index};".encode()
            if database in dumper.broken:
                raise DumpError(f"pg_dump failed: {dumper.broken[database]}")
        self._ended = True

    def facts(self) -> DumpFacts:
        """Return the chunks as TOC entries and the database's tables."""
        if not self._ended:
            raise DumpError("the dump's table of contents was not read (the dump did not end)")
        tables = self._dumper.tables_of(self._database)
        entries = self._dumper.chunks if self._database not in self._dumper.tiny else 0
        error = self._dumper.count_errors.get(self._database)
        if error is not None:
            return DumpFacts(entries, len(tables), count_error=error)
        return DumpFacts(entries, len(tables), tables=table_rows(tables), large_objects=0)

    def close(self) -> None:
        """Forget the dump."""
        self.closed = True
        if self in self._dumper.open_dumps:
            self._dumper.open_dumps.remove(self)
