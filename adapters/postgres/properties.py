"""Bring a database's own properties back under another name: read them, create, apply.

`read_properties` asks pg_restore (of the target server's series) which of the archive's
entries are the database's own (`--list --create`: DATABASE, DATABASE PROPERTIES, and the
COMMENT, ACL and SECURITY LABEL entries on the DATABASE), has it print just those as SQL
(`--create --use-list`, the list fed on stdin), and rewrites them for the target name
(database_sql.py). `create_database` runs the archive's CREATE DATABASE (template0, encoding,
locale, tablespace) and, when the target server cannot (a locale or tablespace it lacks, an older
server), creates the database from template0 with the server's defaults and says what was lost.
`apply_statements` runs the rest one by one in one session, so a grant replayed as its grantor
(`SET SESSION AUTHORIZATION`) keeps its order. Tested against a real server in
tests/integration/test_restore_fidelity.py.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any

import psycopg
from psycopg import sql as pgsql

from adapters.postgres.database_sql import SqlLexError, database_properties
from adapters.postgres.listing import entry_kind, entry_lines
from adapters.process import ChildFailure, Stage, collect, one_line
from domain.models.redaction import Redactor
from ports.errors import RestoreError
from ports.restorer import (
    DatabaseProperties,
    DatabaseStatement,
    NotRestored,
    PropertiesOutcome,
    RestoreTarget,
    shown,
)

UNDEFINED_OBJECT = "42704"
"""A role or tablespace the statement names does not exist on this server."""
KEEP_ERRORS = ("42P04", "42501")
"""duplicate_database, insufficient_privilege: creating with defaults would not help."""
_DATABASE_ENTRY = re.compile(
    r"^(DATABASE |DATABASE PROPERTIES |(COMMENT|ACL|SECURITY LABEL) - DATABASE )"
)
LIST_FILE = "/dev/stdin"


def read_properties(
    pg_restore: Path,
    archive: PurePath,
    target: RestoreTarget,
    env: Mapping[str, str],
    redactor: Redactor,
) -> DatabaseProperties:
    """Return the archive's database-level statements, rewritten for `target.database`.

    Raises:
        RestoreError: pg_restore cannot read the archive, or prints SQL that does not lex.
    """
    listing = _run(pg_restore, ["--list", "--create", str(archive)], env, redactor)
    wanted = [line for line in entry_lines(listing) if _DATABASE_ENTRY.match(entry_kind(line))]
    if not wanted:
        return DatabaseProperties()
    text = _run(
        pg_restore,
        ["--create", f"--use-list={LIST_FILE}", "--file=-", str(archive)],
        env,
        redactor,
        stdin="".join(f"{line}\n" for line in wanted),
    )
    try:
        return database_properties(text, target.database)
    except SqlLexError as exc:
        raise RestoreError(f"the database-level SQL of the archive cannot be read: {exc}") from None


def create_database(
    conn: psycopg.Connection[tuple[Any, ...]],
    target: RestoreTarget,
    properties: DatabaseProperties,
    redactor: Redactor,
) -> NotRestored | None:
    """Create the target as the archive says, else from template0 with the server's defaults.

    Raises:
        RestoreError: the database cannot be created at all.
    """
    lost = None
    if properties.create is not None:
        try:
            conn.execute(properties.create.encode())
            return None
        except psycopg.Error as exc:
            if exc.sqlstate in KEEP_ERRORS:
                raise RestoreError(f"{target.where}: {_reason(exc, redactor)}") from None
            lost = NotRestored(
                shown(properties.create),
                f"{_reason(exc, redactor)}; created with the server's defaults instead",
            )
    statement = pgsql.SQL("CREATE DATABASE {} TEMPLATE template0").format(
        pgsql.Identifier(target.database)
    )
    try:
        conn.execute(statement)
    except psycopg.Error as exc:
        raise RestoreError(f"{target.where}: {_reason(exc, redactor)}") from None
    return lost


def apply_statements(
    conn: psycopg.Connection[tuple[Any, ...]],
    statements: Sequence[DatabaseStatement],
    redactor: Redactor,
) -> PropertiesOutcome:
    """Run each statement in order (autocommit); sort the failures into missing and failed."""
    applied = 0
    missing: list[NotRestored] = []
    failed: list[NotRestored] = []
    for statement in statements:
        try:
            conn.execute(statement.sql.encode())
        except psycopg.Error as exc:
            lost = NotRestored(statement.shown, _reason(exc, redactor))
            (missing if exc.sqlstate == UNDEFINED_OBJECT else failed).append(lost)
        else:
            applied += 1
    return PropertiesOutcome(applied, tuple(missing), tuple(failed))


def _reason(exc: psycopg.Error, redactor: Redactor) -> str:
    primary = exc.diag.message_primary if exc.diag is not None else None
    return one_line(primary or str(exc), redactor)


def _run(
    pg_restore: Path,
    args: list[str],
    env: Mapping[str, str],
    redactor: Redactor,
    *,
    stdin: str | None = None,
) -> str:
    def failed(failure: ChildFailure) -> RestoreError:
        return RestoreError(
            f"reading the archive's database-level entries failed: {failure.message}"
        )

    stage = Stage((str(pg_restore), *args), env, "pg_restore", failed, redactor)
    result = collect(stage, [stdin.encode()] if stdin is not None else None)
    return result.stdout.decode("utf-8", errors="replace")
