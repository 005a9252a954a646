"""Open psycopg connections to a ServerTarget with a password from Credentials.

Connection failures become DatabaseError("cannot connect to HOST:PORT as USER: reason") with the
password and the target's secret masked. Tested against a real PostgreSQL server.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import psycopg
from psycopg.conninfo import make_conninfo
from pydantic import SecretStr

from adapters.postgres.credentials import Credentials
from adapters.process.text import one_line
from domain.models.redaction import Redactor
from ports.database import ServerTarget
from ports.errors import DatabaseError, LtsError

APPLICATION_NAME = "long-term-storage"
DEFAULT_CONNECT_TIMEOUT = 15
MAINTENANCE_DATABASES = ("postgres", "template1")
"""Where to connect for server-wide questions: `postgres` may have been dropped, template1 not."""
SERVER_VERSION = (
    "SELECT current_setting('server_version_num')::int, current_setting('server_version')"
)

_Connection = TypeVar("_Connection")


def connect_kwargs(
    target: ServerTarget,
    password: SecretStr,
    dbname: str,
    connect_timeout: int = DEFAULT_CONNECT_TIMEOUT,
) -> dict[str, Any]:
    """Return the keyword arguments of `psycopg.connect` for `dbname` on `target`."""
    return {
        "host": target.host,
        "port": target.port,
        "user": target.user,
        "dbname": dbname,
        "password": password.get_secret_value(),
        "sslmode": target.sslmode,
        "connect_timeout": connect_timeout,
        "application_name": APPLICATION_NAME,
    }


def secret_free_conninfo(target: ServerTarget, dbname: str) -> str:
    """Return a libpq connection string for `dbname` without any password.

    libpq quoting makes any database name safe here (spaces, quotes, `=`, non-ASCII).
    """
    return make_conninfo(host=target.host, port=target.port, user=target.user, dbname=dbname)


def connection_error(target: ServerTarget, reason: str, redactor: Redactor) -> DatabaseError:
    """Return the DatabaseError for a failed connection to `target`."""
    return DatabaseError(
        f"cannot connect to {target.host}:{target.port} as {target.user}: "
        f"{one_line(reason, redactor)}"
    )


def connect(
    target: ServerTarget,
    credentials: Credentials,
    dbname: str,
    redactor: Redactor,
    connect_timeout: int = DEFAULT_CONNECT_TIMEOUT,
) -> psycopg.Connection[tuple[Any, ...]]:
    """Open an autocommit connection to `dbname`, with a fresh password from `credentials`."""
    password = credentials.password(target)
    redactor.add(password, target.secret)
    try:
        return psycopg.connect(
            **connect_kwargs(target, password, dbname, connect_timeout), autocommit=True
        )
    except psycopg.Error as exc:
        raise connection_error(target, _reason(exc), redactor) from None


def connect_maintenance(open_database: Callable[[str], _Connection]) -> _Connection:
    """Open the `postgres` database with `open_database`, or template1 when it was dropped.

    `open_database` raises an LtsError (DatabaseError, RestoreError) naming the database.
    """
    first, fallback = MAINTENANCE_DATABASES
    try:
        return open_database(first)
    except LtsError as exc:
        if f'database "{first}" does not exist' not in str(exc):
            raise
    return open_database(fallback)


def _reason(exc: psycopg.Error) -> str:
    text = str(exc)
    # psycopg prefixes libpq's text; the rest says which address failed and why.
    return text.removeprefix("connection failed: ")


def libpq_child_env(
    base_env: Mapping[str, str], target: ServerTarget, connect_timeout: int
) -> dict[str, str]:
    """Return the environment of a libpq tool (pg_dump, pg_restore, psql) for `target`.

    Without a password: callers add PGPASSWORD themselves, never on the command line.
    """
    return {
        **base_env,
        # C messages: stable, English stderr in the reports whatever the host's locale.
        "LC_ALL": "C",
        "PGSSLMODE": target.sslmode,
        "PGCONNECT_TIMEOUT": str(connect_timeout),
        "PGAPPNAME": APPLICATION_NAME,
    }


def libpq_password_env(
    base_env: Mapping[str, str],
    target: ServerTarget,
    connect_timeout: int,
    credentials: Credentials,
    redactor: Redactor,
) -> dict[str, str]:
    """Return a libpq tool's environment for `target` with its password in PGPASSWORD.

    The password is fetched now (an Entra token expires within the hour a long run may take)
    and taught to `redactor`, with the target's secret, before any child can print it.

    Raises:
        DatabaseError: no password can be had for `target`.
    """
    password = credentials.password(target)
    redactor.add(password, target.secret)
    env = libpq_child_env(base_env, target, connect_timeout)
    env["PGPASSWORD"] = password.get_secret_value()
    return env
