"""InMemoryDatabase and InMemoryDumper: a server and its dumps as plain data."""

from __future__ import annotations

from collections.abc import Collection, Generator, Mapping, Sequence

from ports.database import Database, DatabaseInfo, ServerInfo, ServerTarget
from ports.dumper import Dumper, DumperInfo
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
    `empty` names databases whose dump yields nothing; `globals_error` breaks the globals dump;
    `too_old` makes `select` refuse. `dumped` records the order databases were dumped in.
    """

    def __init__(
        self,
        *,
        broken: Mapping[str, str] | None = None,
        empty: Collection[str] = (),
        globals_error: str | None = None,
        too_old: bool = False,
        chunks: int = 3,
    ) -> None:
        self.broken = dict(broken or {})
        self.empty = set(empty)
        self.globals_error = globals_error
        self.too_old = too_old
        self.chunks = chunks
        self.dumped: list[str] = []

    def select(self, server: ServerInfo) -> DumperInfo:
        """Accept the server unless `too_old`."""
        if self.too_old:
            raise DumperTooOldError(f"pg_dump 9.6 is older than the server {server.version}")
        return DumperInfo(version=f"{server.major}.0", archive_format="custom", compression="none")

    def dump(self, target: ServerTarget, database: str) -> Generator[bytes, None, None]:
        """Yield the fake dump of `database`."""
        self.dumped.append(database)
        if database in self.empty:
            return
        for index in range(self.chunks):
            yield f"PGDMP{database}:{index};".encode()
            if database in self.broken:
                raise DumpError(f"pg_dump failed: {self.broken[database]}")

    def dump_globals(self, target: ServerTarget) -> Generator[bytes, None, None]:
        """Yield fake globals SQL."""
        yield b"CREATE ROLE app;\n"
        if self.globals_error is not None:
            raise DumpError(f"pg_dumpall failed: {self.globals_error}")
