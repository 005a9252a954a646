"""InMemoryRestorer: a server's databases as data, restored from InMemoryLocalFiles."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import PurePath

from adapters.memory.local_files import InMemoryLocalFiles
from ports.database import ServerTarget
from ports.errors import RestoreError
from ports.restorer import RestoreOptions, Restorer, RestoreTarget, TargetState

DUMP_MAGIC = b"PGDMP"


class InMemoryRestorer(Restorer):
    """A server's databases as data: `objects` maps existing databases to their object count.

    A restore reads the archive from `files`, needs it to start with `PGDMP`, and stores it in
    `restored`; a restored database then holds `tables` tables. `broken` maps an operation name
    (`inspect`, `create_database`, `drop_database`, `restore`, `apply_globals`, `count_tables`)
    to the error it raises. `targets` records every target asked for.
    """

    def __init__(
        self,
        files: InMemoryLocalFiles,
        *,
        objects: Mapping[str, int] | None = None,
        tables: int = 3,
        broken: Mapping[str, Exception] | None = None,
    ) -> None:
        self.files = files
        self.objects = dict(objects or {})
        self.tables = tables
        self.broken = dict(broken or {})
        self.restored: dict[str, bytes] = {}
        self.options: list[RestoreOptions] = []
        self.globals_sql: list[bytes] = []
        self.targets: list[RestoreTarget] = []
        self.dropped: list[str] = []
        self.roles: set[str] = set()

    def inspect(self, target: RestoreTarget) -> TargetState:
        """Return whether the database exists and its object count."""
        self._check("inspect", target)
        if target.database not in self.objects:
            return TargetState(exists=False)
        return TargetState(exists=True, objects=self.objects[target.database])

    def create_database(self, target: RestoreTarget) -> None:
        """Create an empty database."""
        self._check("create_database", target)
        if target.database in self.objects:
            raise RestoreError(f'database "{target.database}" already exists')
        self.objects[target.database] = 0

    def drop_database(self, target: RestoreTarget) -> None:
        """Drop a database."""
        self._check("drop_database", target)
        self.objects.pop(target.database, None)
        self.dropped.append(target.database)

    def restore(self, target: RestoreTarget, archive: PurePath, options: RestoreOptions) -> None:
        """Restore the archive file's content into the database."""
        self.options.append(options)
        self._check("restore", target)
        content = self.files.files.get(archive)
        if content is None:
            raise RestoreError(f"pg_restore: could not open input file {archive}")
        if not content.startswith(DUMP_MAGIC):
            raise RestoreError("pg_restore: input file does not appear to be a valid archive")
        self.restored[target.database] = content
        self.objects[target.database] = self.tables

    def apply_globals(self, server: ServerTarget, sql: Iterable[bytes]) -> int:
        """Record the globals SQL; a `CREATE ROLE` of a role that exists is a failed statement."""
        text = b"".join(sql)
        self._check("apply_globals", None)
        self.globals_sql.append(text)
        failed = 0
        for statement in text.decode("utf-8", errors="replace").split(";"):
            words = statement.split()
            if words[:2] == ["CREATE", "ROLE"] and len(words) > 2:
                role = words[2]
                failed += role in self.roles
                self.roles.add(role)
        return failed

    def count_tables(self, target: RestoreTarget) -> int:
        """Return the tables of the database."""
        self._check("count_tables", target)
        return self.tables if target.database in self.restored else 0

    def _check(self, operation: str, target: RestoreTarget | None) -> None:
        if target is not None:
            self.targets.append(target)
        if operation in self.broken:
            raise self.broken[operation]
