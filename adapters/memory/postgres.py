"""InMemoryDatabase and InMemoryDumper: a server and its dumps as plain data."""

from __future__ import annotations

from collections.abc import Collection, Generator, Mapping, Sequence

from adapters.memory.decompressor import zstd_frame
from domain.models.compression import is_zstd
from ports.database import Database, DatabaseInfo, ServerInfo, ServerTarget
from ports.dumper import Dumper, DumperInfo, DumpTool
from ports.errors import DatabaseError, DumpError, DumperTooOldError


class InMemoryDatabase(Database):
    """A server with databases of given sizes.

    `error` makes it unreachable; `list_error` makes only the database listing fail;
    `unreadable` maps a database to the tables the login may not read (a DatabaseError value
    makes connecting to that database fail).
    """

    def __init__(
        self,
        sizes: Mapping[str, int],
        *,
        version_num: int = 150004,
        error: DatabaseError | None = None,
        list_error: DatabaseError | None = None,
        unreadable: Mapping[str, Sequence[str] | DatabaseError] | None = None,
    ) -> None:
        self.sizes = dict(sizes)
        self.unreadable = dict(unreadable or {})
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


class InMemoryDumper(Dumper):
    """Dumps are `PGDMP<name>` repeated; switches make them fail.

    `broken` maps a database to the error text its dump raises after its first chunk;
    `empty` names databases whose dump writes nothing (a DumpError, as pg_dump's would be);
    `tiny` names databases whose dump is only the archive's magic bytes; `globals_error` breaks
    the globals dump; `too_old` makes `select` refuse, `select_error` fail with that error
    (a compression pg_dump or zstd cannot do). `compression` is what the tool reports;
    a `zstd:N` one frames every dump and the globals as InMemoryDecompressor expects. `dumped`
    records the order databases were dumped in.
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
        compression: str = "none",
        select_error: DumpError | None = None,
    ) -> None:
        self.broken = dict(broken or {})
        self.empty = set(empty)
        self.tiny = set(tiny)
        self.globals_error = globals_error
        self.too_old = too_old
        self.chunks = chunks
        self.compression = compression
        self.select_error = select_error
        self.dumped: list[str] = []

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

    def dump(self, target: ServerTarget, database: str) -> Generator[bytes, None, None]:
        """Yield the fake dump of `database` (framed when the compression is zstd's)."""
        self._dumper.dumped.append(database)
        return self._compressed(self._dump(database))

    def dump_globals(self, target: ServerTarget) -> Generator[bytes, None, None]:
        """Yield fake globals SQL (framed when the compression is zstd's)."""
        return self._compressed(self._globals())

    def _dump(self, database: str) -> Generator[bytes, None, None]:
        dumper = self._dumper
        if database in dumper.empty:
            raise DumpError("pg_dump produced no output")
        if database in dumper.tiny:
            yield b"PGDMP"
            return
        for index in range(dumper.chunks):
            yield f"PGDMP{database}:{index};".encode()
            if database in dumper.broken:
                raise DumpError(f"pg_dump failed: {dumper.broken[database]}")

    def _globals(self) -> Generator[bytes, None, None]:
        yield b"CREATE ROLE app;\n"
        if self._dumper.globals_error is not None:
            raise DumpError(f"pg_dumpall failed: {self._dumper.globals_error}")

    def _compressed(self, chunks: Generator[bytes, None, None]) -> Generator[bytes, None, None]:
        return zstd_frame(chunks) if is_zstd(self._info.compression) else chunks
