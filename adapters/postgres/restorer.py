"""PgRestorer: restore dumps with pg_restore, apply globals with psql, inspect targets.

The tools are chosen by `client_tools` for the target server's release series, read from the
server before each use (SPEC 13: as pg_dump is for the source), and the choice is logged. The
database's own properties are read, created and applied by properties.py; rows are counted by
row_counts.py, as the backup counted them. For the client's own server the
password (or Entra token) comes from the client's credentials and reaches children as
PGPASSWORD in an environment built from scratch.
For a target the operator chose (`auth` OPERATOR_AUTH) the job handles no password: libpq reads
the operator's `PGPASSWORD` or `~/.pgpass` (or `PGPASSFILE`) itself, in-process for psycopg and
in the children, which get exactly those variables passed through. Passwords are never on a
command line. Archives are read by PgArchiveReader (archive_reader.py); scratch databases are
claimed by scratch.py. Tested by tests/integration/test_restore_jobs.py against a real server.

Longer than 300 lines: one adapter of the Restorer port, each method a thin step over psycopg or
a child; the SQL-heavy parts live in properties.py, row_counts.py and scratch.py.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any

import psycopg
from psycopg import sql as pgsql

from adapters.postgres import scratch
from adapters.postgres.connection import (
    APPLICATION_NAME,
    DEFAULT_CONNECT_TIMEOUT,
    MAINTENANCE_DATABASES,
    SERVER_VERSION,
    connect,
    connect_maintenance,
    libpq_child_env,
    libpq_password_env,
    secret_free_conninfo,
)
from adapters.postgres.credentials import Credentials
from adapters.postgres.properties import apply_statements, create_database, read_properties
from adapters.postgres.psql_messages import globals_outcome
from adapters.postgres.row_counts import count_rows
from adapters.postgres.tools import ClientTools, ClientToolsError, client_tools
from adapters.process import ChildFailure, Stage, child_env, collect, inherited_env, one_line
from domain.models.manifest import TableRows
from domain.models.redaction import Redactor
from ports.database import ServerInfo, ServerTarget
from ports.errors import DatabaseError, RestoreError
from ports.restorer import (
    OPERATOR_AUTH,
    SCRATCH_CLAIMED,
    DatabaseProperties,
    DatabaseStatement,
    GlobalsOutcome,
    NotRestored,
    PropertiesOutcome,
    RestoreOptions,
    Restorer,
    RestoreTarget,
    RestoreVersions,
    ScratchDatabase,
    TargetState,
)

OPERATOR_VARIABLES = ("PGPASSWORD", "PGPASSFILE")
"""What an operator-chosen target's children get of the job's environment, for libpq alone."""

# Objects outside the system schemas: relations, functions and schemas other than public.
COUNT_OBJECTS = """
WITH user_schemas AS (
  SELECT oid, nspname FROM pg_namespace
   WHERE nspname NOT IN ('pg_catalog', 'information_schema')
     AND nspname NOT LIKE 'pg\\_toast%' AND nspname NOT LIKE 'pg\\_temp%'
)
SELECT (SELECT count(*) FROM pg_class WHERE relnamespace IN (SELECT oid FROM user_schemas))
     + (SELECT count(*) FROM pg_proc WHERE pronamespace IN (SELECT oid FROM user_schemas))
     + (SELECT count(*) FROM user_schemas WHERE nspname <> 'public')
"""
COUNT_TABLES = """
SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
"""

PSQL_STDERR_LIMIT = 16 * 1024 * 1024
"""psql's every message is sorted (psql_messages.py): keep them all, not just the tail."""

logger = logging.getLogger("lts.postgres")


class PgRestorer(Restorer):
    """Restore with pg_restore, apply globals with psql, inspect targets with psycopg.

    Args:
        credentials: the password source for targets on the client's own server.
        redactor: learns every password, and masks the children's stderr.
        pg_bin_dir: `[backup] pg_bin_dir`; None searches the usual places and PATH.
        connect_timeout: seconds libpq waits for the server.
        base_env: the environment children start from (default: `inherited_env()`).
    """

    def __init__(
        self,
        *,
        credentials: Credentials,
        redactor: Redactor,
        pg_bin_dir: Path | None = None,
        connect_timeout: int = DEFAULT_CONNECT_TIMEOUT,
        base_env: Mapping[str, str] | None = None,
    ) -> None:
        self.credentials = credentials
        self.redactor = redactor
        self.pg_bin_dir = pg_bin_dir
        self.connect_timeout = connect_timeout
        self.base_env = dict(inherited_env() if base_env is None else base_env)

    def inspect(self, target: RestoreTarget) -> TargetState:
        """Tell whether the database exists and how many objects of its own it holds."""
        with self._maintenance(target.server) as conn:
            row = self._fetch(
                conn, target, "SELECT 1 FROM pg_database WHERE datname = %s", (target.database,)
            )
        if row is None:
            return TargetState(exists=False)
        with self._connect(target.server, target.database) as conn:
            count = self._fetch(conn, target, COUNT_OBJECTS, None)
        return TargetState(exists=True, objects=int(count[0]) if count else 0)

    def read_properties(self, target: RestoreTarget, archive: PurePath) -> DatabaseProperties:
        """Read the archive's database-level entries for `target`; see the Restorer port."""
        pg_restore = self._tool(target.server, "pg_restore")
        env = child_env(self.base_env, LC_ALL="C")
        return read_properties(pg_restore, archive, target, env, self.redactor)

    def create_database(
        self, target: RestoreTarget, properties: DatabaseProperties
    ) -> NotRestored | None:
        """Create the target database as the archive says; see the Restorer port."""
        with self._maintenance(target.server) as conn:
            return create_database(conn, target, properties, self.redactor)

    def apply_properties(
        self, target: RestoreTarget, statements: Sequence[DatabaseStatement]
    ) -> PropertiesOutcome:
        """Apply database-level statements in the target database, in order."""
        if not statements:
            return PropertiesOutcome()
        with self._connect(target.server, target.database) as conn:
            return apply_statements(conn, statements, self.redactor)

    def drop_database(self, target: RestoreTarget) -> None:
        """Drop the target database."""
        statement = pgsql.SQL("DROP DATABASE IF EXISTS {}").format(
            pgsql.Identifier(target.database)
        )
        with self._maintenance(target.server) as conn:
            self._fetch(conn, target, statement, None, rows=False)

    def claim_scratch(self, target: RestoreTarget) -> scratch.PgScratchClaim:
        """Claim the scratch database `target` (adapters/postgres/scratch.py) until closed."""
        conn = self._maintenance(target.server)
        try:
            held = scratch.claim(conn, target.database)
        except psycopg.Error as exc:
            raise RestoreError(f"{target.where}: {one_line(str(exc), self.redactor)}") from None
        if held is None:
            raise RestoreError(f"{target.where}: {SCRATCH_CLAIMED}")
        return held

    def mark_database(self, target: RestoreTarget, note: str) -> None:
        """Set the database's comment to `note` (COMMENT ON DATABASE; a literal, never bound)."""
        statement = pgsql.SQL("COMMENT ON DATABASE {} IS {}").format(
            pgsql.Identifier(target.database), pgsql.Literal(note)
        )
        with self._maintenance(target.server) as conn:
            self._fetch(conn, target, statement, None, rows=False)

    def scratch_databases(self, server: ServerTarget, prefix: str) -> tuple[ScratchDatabase, ...]:
        """Return the databases named `prefix...`: comment, claimed or not, objects if not."""
        try:
            with self._maintenance(server) as conn:
                names = scratch.scratch_names(conn, prefix)
        except psycopg.Error as exc:
            reason = one_line(str(exc), self.redactor)
            raise RestoreError(f"{prefix}* on {server.host}:{server.port}: {reason}") from None
        return tuple(
            ScratchDatabase(
                name, note, claimed, None if claimed else self._objects(RestoreTarget(server, name))
            )
            for name, note, claimed in names
        )

    def _objects(self, target: RestoreTarget) -> int | None:
        """Count the database's own objects; None when it cannot be entered."""
        try:
            return self.inspect(target).objects
        except RestoreError:
            return None

    def count_tables(self, target: RestoreTarget) -> int:
        """Return the number of ordinary and partitioned tables outside the system schemas."""
        with self._connect(target.server, target.database) as conn:
            row = self._fetch(conn, target, COUNT_TABLES, None)
        return int(row[0]) if row else 0

    def count_rows(self, target: RestoreTarget) -> tuple[TableRows, ...]:
        """Count every table's rows as the backup counted them in the dump's snapshot."""
        with self._connect(target.server, target.database) as conn:
            try:
                return count_rows(conn)
            except psycopg.Error as exc:
                raise RestoreError(f"{target.where}: {one_line(str(exc), self.redactor)}") from None

    def versions(self, server: ServerTarget) -> RestoreVersions:
        """Return the pg_restore chosen for `server` and the server's version."""
        info = self._server_info(server)
        return RestoreVersions(pg_restore=self._tools(info).version, server=info.version)

    def restore(self, target: RestoreTarget, archive: PurePath, options: RestoreOptions) -> None:
        """Run pg_restore from the archive file into the target database."""
        argv = [
            str(self._tool(target.server, "pg_restore")),
            f"--dbname={secret_free_conninfo(target.server, target.database)}",
            "--no-password",
            f"--jobs={max(1, options.jobs)}",
        ]
        if options.clean:
            argv += ["--clean", "--if-exists"]
        if not options.keep_owners:
            # Grants name roles just as owners do; without the owners they fail the same way.
            argv += ["--no-owner", "--no-privileges"]
        argv.append(str(archive))

        def failed(failure: ChildFailure) -> RestoreError:
            if failure.returncode is None:
                return RestoreError(failure.message)
            return RestoreError(
                f"pg_restore into {target.where} exited with {failure.returncode}: {failure.detail}"
            )

        collect(Stage(argv, self._child_env(target.server), "pg_restore", failed, self.redactor))

    def apply_globals(self, server: ServerTarget, sql: Iterable[bytes]) -> GlobalsOutcome:
        """Run the globals SQL with psql, going on past failing statements; sort its errors."""
        argv = [
            str(self._tool(server, "psql")),
            "--no-psqlrc",
            "--quiet",
            "--no-password",
            "--set=ON_ERROR_STOP=0",
            # Every error with its SQLSTATE: "already exists" is known in any server language.
            "--set=VERBOSITY=verbose",
            f"--dbname={secret_free_conninfo(server, MAINTENANCE_DATABASES[0])}",
        ]

        def failed(failure: ChildFailure) -> RestoreError:
            if failure.returncode is None:
                return RestoreError(failure.message)
            return RestoreError(
                f"psql could not apply the globals on {server.host}:{server.port} (exit "
                f"{failure.returncode}): {failure.detail}"
            )

        stage = Stage(
            argv,
            self._child_env(server),
            "psql",
            failed,
            self.redactor,
            stderr_limit=PSQL_STDERR_LIMIT,
        )
        result = collect(stage, sql)
        # ON_ERROR_STOP=0: psql exits 0 and names each failed statement on stderr.
        outcome = globals_outcome(result.stderr, self.redactor)
        for error in outcome.errors:
            logger.warning("globals: %s", error)
        return outcome

    def _tool(self, server: ServerTarget, name: str) -> Path:
        """Return tool `name` chosen by `client_tools` for the target server's version."""
        info = self._server_info(server)
        tools = self._tools(info)
        try:
            path = tools.path(name)
        except ClientToolsError as exc:
            raise RestoreError(str(exc)) from None
        logger.info(
            "%s %s from %s for the server %s at %s:%s",
            name,
            tools.version,
            tools.bin_dir,
            info.version,
            server.host,
            server.port,
        )
        return path

    def _tools(self, info: ServerInfo) -> ClientTools:
        try:
            return client_tools(info, self.pg_bin_dir, self.base_env.get("PATH"))
        except ClientToolsError as exc:
            raise RestoreError(str(exc)) from None

    def _server_info(self, server: ServerTarget) -> ServerInfo:
        with self._maintenance(server) as conn:
            try:
                row = conn.execute(SERVER_VERSION).fetchone()
            except psycopg.Error as exc:
                reason = one_line(str(exc), self.redactor)
                raise RestoreError(f"{server.host}:{server.port}: {reason}") from None
        if row is None:
            raise RestoreError(f"{server.host}:{server.port} did not report its version")
        return ServerInfo(int(row[0]), str(row[1]))

    def _child_env(self, server: ServerTarget) -> dict[str, str]:
        if server.auth == OPERATOR_AUTH:
            env = libpq_child_env(self.base_env, server, self.connect_timeout)
            for name in OPERATOR_VARIABLES:
                value = os.getenv(name)
                if value is not None:
                    env[name] = value
            self.redactor.add(env.get("PGPASSWORD"))
            return env
        try:
            return libpq_password_env(
                self.base_env, server, self.connect_timeout, self.credentials, self.redactor
            )
        except DatabaseError as exc:
            raise RestoreError(str(exc)) from None

    def _connect(self, server: ServerTarget, dbname: str) -> psycopg.Connection[tuple[Any, ...]]:
        try:
            if server.auth != OPERATOR_AUTH:
                return connect(
                    server, self.credentials, dbname, self.redactor, self.connect_timeout
                )
            # No password given: libpq reads PGPASSWORD or the .pgpass file of the operator.
            return psycopg.connect(
                host=server.host,
                port=server.port,
                user=server.user,
                dbname=dbname,
                sslmode=server.sslmode,
                connect_timeout=self.connect_timeout,
                application_name=APPLICATION_NAME,
                autocommit=True,
            )
        except DatabaseError as exc:
            raise RestoreError(str(exc)) from None
        except psycopg.Error as exc:
            reason = one_line(str(exc).removeprefix("connection failed: "), self.redactor)
            raise RestoreError(
                f"cannot connect to {server.host}:{server.port} as {server.user}: {reason}"
            ) from None

    def _maintenance(self, server: ServerTarget) -> psycopg.Connection[tuple[Any, ...]]:
        return connect_maintenance(lambda dbname: self._connect(server, dbname))

    def _fetch(
        self,
        conn: psycopg.Connection[tuple[Any, ...]],
        target: RestoreTarget,
        query: str | pgsql.Composed,
        params: tuple[Any, ...] | None,
        *,
        rows: bool = True,
    ) -> tuple[Any, ...] | None:
        try:
            cursor = conn.execute(query, params)
            return cursor.fetchone() if rows else None
        except psycopg.Error as exc:
            raise RestoreError(f"{target.where}: {one_line(str(exc), self.redactor)}") from None
