"""PgRestorer: restore and read custom-format dumps with pg_restore and psql, inspect targets.

The tools come from the same place as PgDumper's (`[backup] pg_bin_dir`, else the newest
installed client). For the client's own server the password (or Entra token) comes from the
client's credentials and reaches children as PGPASSWORD in an environment built from scratch.
For a target the operator chose (`auth` OPERATOR_AUTH) the job handles no password: libpq reads
the operator's `PGPASSWORD` or `~/.pgpass` (or `PGPASSFILE`) itself, in-process for psycopg and
in the children, which get exactly those variables passed through. Passwords are never on a
command line. Tested by tests/integration/test_restore_jobs.py against a real server.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Generator, Iterable, Mapping
from pathlib import Path, PurePath
from typing import Any, cast

import psycopg
from psycopg import sql as pgsql

from adapters.gpg.stream import filter_through
from adapters.postgres.binaries import find_pg_dump
from adapters.postgres.child import StderrTail
from adapters.postgres.connection import (
    APPLICATION_NAME,
    DEFAULT_CONNECT_TIMEOUT,
    connect,
    libpq_child_env,
    secret_free_conninfo,
)
from adapters.postgres.credentials import Credentials
from adapters.postgres.dumper import inherited_env
from adapters.postgres.feed import FedResult, run_fed
from adapters.postgres.text import one_line
from domain.models.redaction import Redactor
from ports.database import ServerTarget
from ports.errors import DatabaseError, DumpError
from ports.restorer import (
    OPERATOR_AUTH,
    ArchiveListing,
    RestoreError,
    RestoreOptions,
    Restorer,
    RestoreTarget,
    TargetState,
)

DEFAULT_CHUNK_SIZE = 1024 * 1024
MAINTENANCE_DATABASES = ("postgres", "template1")
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

logger = logging.getLogger(__name__)


class PgRestorer(Restorer):
    """Restore with pg_restore, apply globals with psql, inspect targets with psycopg.

    Args:
        credentials: the password source for targets on the client's own server.
        redactor: learns every password, and masks the children's stderr.
        pg_bin_dir: `[backup] pg_bin_dir`; None searches the usual places and PATH.
        base_env: the environment children start from (default: `inherited_env()`).
    """

    def __init__(
        self,
        *,
        credentials: Credentials,
        redactor: Redactor,
        pg_bin_dir: Path | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        connect_timeout: int = DEFAULT_CONNECT_TIMEOUT,
        base_env: Mapping[str, str] | None = None,
    ) -> None:
        self.credentials = credentials
        self.redactor = redactor
        self.pg_bin_dir = pg_bin_dir
        self.chunk_size = chunk_size
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

    def create_database(self, target: RestoreTarget) -> None:
        """Create the target database."""
        statement = pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(target.database))
        with self._maintenance(target.server) as conn:
            self._fetch(conn, target, statement, None, rows=False)

    def drop_database(self, target: RestoreTarget) -> None:
        """Drop the target database."""
        statement = pgsql.SQL("DROP DATABASE IF EXISTS {}").format(
            pgsql.Identifier(target.database)
        )
        with self._maintenance(target.server) as conn:
            self._fetch(conn, target, statement, None, rows=False)

    def count_tables(self, target: RestoreTarget) -> int:
        """Return the number of ordinary and partitioned tables outside the system schemas."""
        with self._connect(target.server, target.database) as conn:
            row = self._fetch(conn, target, COUNT_TABLES, None)
        return int(row[0]) if row else 0

    def restore(self, target: RestoreTarget, archive: PurePath, options: RestoreOptions) -> None:
        """Run pg_restore from the archive file into the target database."""
        argv = [
            str(self._tool("pg_restore")),
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
        logger.info("running %s", self.redactor.redact(" ".join(argv)))
        try:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env=self._child_env(target.server),
            )
        except OSError as exc:
            raise RestoreError(f"cannot start pg_restore: {exc.strerror}") from None
        stderr = StderrTail(cast(Any, process.stderr))
        stderr.start()
        returncode = process.wait()
        stderr.join()
        if process.stderr is not None:
            process.stderr.close()
        if returncode != 0:
            raise RestoreError(
                f"pg_restore into {target.where} exited with {returncode}: "
                f"{one_line(stderr.text(), self.redactor)}"
            )

    def apply_globals(self, server: ServerTarget, sql: Iterable[bytes]) -> int:
        """Run the globals SQL with psql, going on past failing statements."""
        argv = [
            str(self._tool("psql")),
            "--no-psqlrc",
            "--quiet",
            "--no-password",
            "--set=ON_ERROR_STOP=0",
            f"--dbname={secret_free_conninfo(server, MAINTENANCE_DATABASES[0])}",
        ]
        result = self._fed(argv, self._child_env(server), sql, "psql")
        if result.returncode != 0:
            raise RestoreError(
                f"psql could not apply the globals on {server.host}:{server.port} (exit "
                f"{result.returncode}): {one_line(result.stderr, self.redactor)}"
            )
        failed = result.stderr.count("ERROR:")
        if failed:
            logger.warning("globals: %s", one_line(result.stderr, self.redactor))
        return failed

    def list_archive(self, archive: Iterable[bytes]) -> ArchiveListing:
        """Run `pg_restore --list` on the stream (read from stdin; nothing on disk)."""
        argv = [str(self._tool("pg_restore")), "--list"]
        result = self._fed(argv, self._tool_env(), archive, "pg_restore --list")
        if result.returncode != 0:
            raise RestoreError(
                f"pg_restore --list failed (exit {result.returncode}): "
                f"{one_line(result.stderr, self.redactor)}"
            )
        lines = result.stdout.decode("utf-8", errors="replace").splitlines()
        entries = [line for line in lines if line.strip() and not line.startswith(";")]
        if not entries:
            raise RestoreError("pg_restore --list found no entries in the archive")
        return ArchiveListing(
            entries=len(entries), tables=sum(1 for line in entries if " TABLE DATA " in line)
        )

    def to_sql(self, archive: Iterable[bytes]) -> Generator[bytes, None, None]:
        """Stream `pg_restore -f -` of the archive stream as plain SQL."""
        argv = [str(self._tool("pg_restore")), "--file=-"]

        def failure(returncode: int, stderr: bytes) -> RestoreError:
            reason = one_line(stderr.decode("utf-8", errors="replace"), self.redactor)
            return RestoreError(f"pg_restore -f failed (exit {returncode}): {reason}")

        yield from filter_through(argv, self._tool_env(), archive, self.chunk_size, failure)

    def _tool(self, name: str) -> Path:
        try:
            binary = find_pg_dump(self.pg_bin_dir, self.base_env.get("PATH"))
        except DumpError as exc:
            raise RestoreError(str(exc).replace("pg_dump", name)) from None
        tool = binary.sibling(name)
        if not tool.is_file():
            raise RestoreError(f"no {name} beside {binary.path}")
        return tool

    def _fed(
        self, argv: list[str], env: Mapping[str, str], chunks: Iterable[bytes], tool: str
    ) -> FedResult:
        try:
            return run_fed(argv, env, chunks, self.redactor)
        except OSError as exc:
            raise RestoreError(f"cannot start {tool}: {exc.strerror}") from None

    def _tool_env(self) -> dict[str, str]:
        return {**self.base_env, "LC_ALL": "C"}

    def _child_env(self, server: ServerTarget) -> dict[str, str]:
        env = libpq_child_env(self.base_env, server, self.connect_timeout)
        if server.auth == OPERATOR_AUTH:
            for name in OPERATOR_VARIABLES:
                value = os.getenv(name)
                if value is not None:
                    env[name] = value
            self.redactor.add(env.get("PGPASSWORD"))
            return env
        try:
            password = self.credentials.password(server)
        except DatabaseError as exc:
            raise RestoreError(str(exc)) from None
        self.redactor.add(password, server.secret)
        env["PGPASSWORD"] = password.get_secret_value()
        return env

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
        first, fallback = MAINTENANCE_DATABASES
        try:
            return self._connect(server, first)
        except RestoreError as exc:
            if f'database "{first}" does not exist' not in str(exc):
                raise
        return self._connect(server, fallback)

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
