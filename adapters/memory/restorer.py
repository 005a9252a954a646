"""InMemoryRestorer: a server's databases as data, restored from InMemoryLocalFiles."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import PurePath

from adapters.memory.local_files import InMemoryLocalFiles
from adapters.memory.postgres import DEFAULT_TABLES, table_rows
from domain.models.manifest import TableRows
from ports.database import ServerTarget
from ports.errors import RestoreError
from ports.restorer import (
    SCRATCH_CLAIMED,
    DatabaseProperties,
    DatabaseStatement,
    GlobalsOutcome,
    NotRestored,
    PropertiesOutcome,
    PropertyKind,
    RestoreOptions,
    Restorer,
    RestoreTarget,
    RestoreVersions,
    ScratchClaim,
    ScratchDatabase,
    TargetState,
)

DUMP_MAGIC = b"PGDMP"
_SOURCE = re.compile(rb"^PGDMP([^:;]*):")


def archive_properties(target: str) -> DatabaseProperties:
    """Return what every in-memory archive holds of its database, rewritten for `target`."""
    name = f'"{target}"'
    return DatabaseProperties(
        source="source",
        create=f"CREATE DATABASE {name} WITH TEMPLATE = template0 ENCODING = 'UTF8'",
        statements=(
            DatabaseStatement(PropertyKind.OWNER, f"ALTER DATABASE {name} OWNER TO alice"),
            DatabaseStatement(PropertyKind.COMMENT, f"COMMENT ON DATABASE {name} IS 'sales'"),
            DatabaseStatement(PropertyKind.SETTING, f"ALTER DATABASE {name} SET work_mem TO '8MB'"),
            DatabaseStatement(
                PropertyKind.ROLE_SETTING,
                f"ALTER ROLE bob IN DATABASE {name} SET work_mem TO '1MB'",
            ),
            DatabaseStatement(PropertyKind.PRIVILEGE, f"GRANT CONNECT ON DATABASE {name} TO bob"),
        ),
    )


class InMemoryRestorer(Restorer):
    """A server's databases as data: `objects` maps existing databases to their object count.

    A restore reads the archive from `files`, needs it to start with `PGDMP`, and stores it in
    `restored`; a restored database then holds `tables` tables, whose rows are those of the
    archive's source database in `source_rows` (default DEFAULT_TABLES). `broken` maps an
    operation name (`inspect`, `read_properties`, `create_database`, `drop_database`, `restore`,
    `apply_properties`, `apply_globals`, `count_tables`, `count_rows`, `versions`,
    `claim_scratch`, `mark_database`, `scratch_databases`) to the error it raises.
    Database-level statements naming a role of `missing_roles` are missing on this server;
    those of a kind in `failing` fail with its text; `unknown` statements are ones the archive
    holds but no rule understands; `create_fallback` makes creating a database as dumped fail
    with that reason. `globals_errors` are the errors applying the globals reports. `targets`
    records every target asked for; `applied` every statement applied; `notes` the comments
    databases carry; `claimed` the scratch databases a live claim holds (a killed job's claim
    is simply absent); `claims` every scratch database ever claimed, in order.
    """

    def __init__(
        self,
        files: InMemoryLocalFiles,
        *,
        objects: Mapping[str, int] | None = None,
        tables: int = 3,
        broken: Mapping[str, Exception] | None = None,
        missing_roles: Iterable[str] = (),
        failing: Mapping[PropertyKind, str] | None = None,
        unknown: Sequence[str] = (),
        create_fallback: str | None = None,
        globals_errors: Sequence[str] = (),
    ) -> None:
        self.files = files
        self.objects = dict(objects or {})
        self.tables = tables
        self.broken = dict(broken or {})
        self.missing_roles = set(missing_roles)
        self.failing = dict(failing or {})
        self.unknown = tuple(unknown)
        self.create_fallback = create_fallback
        self.globals_errors = tuple(globals_errors)
        self.source_rows: dict[str, Mapping[str, int]] = {}
        self.restored: dict[str, bytes] = {}
        self.created: dict[str, str | None] = {}
        self.options: list[RestoreOptions] = []
        self.globals_sql: list[bytes] = []
        self.targets: list[RestoreTarget] = []
        self.dropped: list[str] = []
        self.applied: list[DatabaseStatement] = []
        self.roles: set[str] = set()
        self.notes: dict[str, str] = {}
        self.claimed: set[str] = set()
        self.claims: list[str] = []

    def inspect(self, target: RestoreTarget) -> TargetState:
        """Return whether the database exists and its object count."""
        self._check("inspect", target)
        if target.database not in self.objects:
            return TargetState(exists=False)
        return TargetState(exists=True, objects=self.objects[target.database])

    def read_properties(self, target: RestoreTarget, archive: PurePath) -> DatabaseProperties:
        """Return `archive_properties` of the target, with the `unknown` statements."""
        self._check("read_properties", target)
        if archive not in self.files.files:
            raise RestoreError(f"pg_restore: could not open input file {archive}")
        properties = archive_properties(target.database)
        return DatabaseProperties(
            properties.source, properties.create, properties.statements, self.unknown
        )

    def create_database(
        self, target: RestoreTarget, properties: DatabaseProperties
    ) -> NotRestored | None:
        """Create an empty database, as dumped unless `create_fallback`."""
        self._check("create_database", target)
        if target.database in self.objects:
            raise RestoreError(f'database "{target.database}" already exists')
        self.objects[target.database] = 0
        if self.create_fallback is not None:
            self.created[target.database] = None
            return NotRestored("encoding, locale and tablespace", self.create_fallback)
        self.created[target.database] = properties.create
        return None

    def drop_database(self, target: RestoreTarget) -> None:
        """Drop a database."""
        self._check("drop_database", target)
        self.objects.pop(target.database, None)
        self.restored.pop(target.database, None)
        self.notes.pop(target.database, None)
        self.dropped.append(target.database)

    def claim_scratch(self, target: RestoreTarget) -> InMemoryScratchClaim:
        """Add the database to `claimed` (and `claims`) until closed; refuse a claimed one."""
        self._check("claim_scratch", target)
        if target.database in self.claimed:
            raise RestoreError(f"{target.where}: {SCRATCH_CLAIMED}")
        self.claimed.add(target.database)
        self.claims.append(target.database)
        return InMemoryScratchClaim(self.claimed, target.database)

    def mark_database(self, target: RestoreTarget, note: str) -> None:
        """Remember the database's comment in `notes`."""
        self._check("mark_database", target)
        if target.database not in self.objects:
            raise RestoreError(f'database "{target.database}" does not exist')
        self.notes[target.database] = note

    def scratch_databases(self, server: ServerTarget, prefix: str) -> tuple[ScratchDatabase, ...]:
        """Return the existing databases named `prefix...`: notes, claims, object counts."""
        self._check("scratch_databases", None)
        return tuple(
            ScratchDatabase(
                name,
                self.notes.get(name),
                name in self.claimed,
                None if name in self.claimed else self.objects[name],
            )
            for name in sorted(self.objects)
            if name.startswith(prefix)
        )

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

    def apply_properties(
        self, target: RestoreTarget, statements: Sequence[DatabaseStatement]
    ) -> PropertiesOutcome:
        """Apply each statement unless it names a missing role or its kind is failing."""
        self._check("apply_properties", target)
        applied, missing, failed = 0, [], []
        for statement in statements:
            words = set(statement.sql.replace('"', " ").split())
            role = next((r for r in sorted(self.missing_roles) if r in words), None)
            if role is not None:
                missing.append(NotRestored(statement.shown, f'role "{role}" does not exist'))
            elif statement.kind in self.failing:
                failed.append(NotRestored(statement.shown, self.failing[statement.kind]))
            else:
                self.applied.append(statement)
                applied += 1
        return PropertiesOutcome(applied, tuple(missing), tuple(failed))

    def apply_globals(self, server: ServerTarget, sql: Iterable[bytes]) -> GlobalsOutcome:
        """Record the globals SQL; a `CREATE ROLE` of a role that exists is counted as existing."""
        text = b"".join(sql)
        self._check("apply_globals", None)
        self.globals_sql.append(text)
        existing = 0
        for statement in text.decode("utf-8", errors="replace").split(";"):
            words = statement.split()
            if words[:2] == ["CREATE", "ROLE"] and len(words) > 2:
                role = words[2]
                existing += role in self.roles
                self.roles.add(role)
        return GlobalsOutcome(existing, self.globals_errors)

    def count_tables(self, target: RestoreTarget) -> int:
        """Return the tables of the database."""
        self._check("count_tables", target)
        return self.tables if target.database in self.restored else 0

    def count_rows(self, target: RestoreTarget) -> tuple[TableRows, ...]:
        """Return the rows of the restored archive's source database."""
        self._check("count_rows", target)
        content = self.restored.get(target.database)
        if content is None:
            return ()
        match = _SOURCE.match(content)
        source = match.group(1).decode() if match else ""
        return table_rows(self.source_rows.get(source, DEFAULT_TABLES))

    def versions(self, server: ServerTarget) -> RestoreVersions:
        """Return made-up versions."""
        self._check("versions", None)
        return RestoreVersions(pg_restore="15.4", server="15.4")

    def _check(self, operation: str, target: RestoreTarget | None) -> None:
        if target is not None:
            self.targets.append(target)
        if operation in self.broken:
            raise self.broken[operation]


class InMemoryScratchClaim(ScratchClaim):
    """A claim on a scratch database: in `claimed` until closed."""

    def __init__(self, claimed: set[str], database: str) -> None:
        self._claimed = claimed
        self._database = database

    def close(self) -> None:
        """Let go of the claim."""
        self._claimed.discard(self._database)
