"""PostgresDatabase: discovery and version questions to a real PostgreSQL server (psycopg).

Tested by tests/integration/test_postgres_database.py against a real server.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import psycopg

from adapters.postgres.connection import (
    DEFAULT_CONNECT_TIMEOUT,
    SERVER_VERSION,
    connect,
    connect_maintenance,
    connection_error,
)
from adapters.postgres.credentials import Credentials
from domain.models.redaction import Redactor
from ports.database import (
    LARGE_OBJECTS_LISTED,
    Database,
    DatabaseInfo,
    ServerInfo,
    ServerTarget,
)

# A database the login may not connect to is still listed (its dump then fails and is reported),
# but pg_database_size() would raise for it, so its size is taken as 0.
LIST_DATABASES = """
SELECT datname,
       CASE WHEN has_database_privilege(oid, 'CONNECT') THEN pg_database_size(oid) ELSE 0 END
  FROM pg_database
 WHERE NOT datistemplate
   AND datallowconn
   AND datname::text <> ALL(%s::text[])
 ORDER BY 2 DESC, 1
"""

# What pg_dump must read: every table (it locks and copies them) and sequence (it reads their
# state), through USAGE on their schemas. Row-level security makes pg_dump stop with an error
# unless the login owns the table, is a superuser or has BYPASSRLS (pg_dump runs without
# --enable-row-security). has_*_privilege() honours pg_read_all_data.
UNREADABLE_TABLES = """
SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname),
       CASE
         WHEN NOT has_schema_privilege(n.oid, 'USAGE')
           THEN 'no USAGE on schema ' || quote_ident(n.nspname)
         WHEN c.relkind = 'S' AND NOT has_sequence_privilege(c.oid, 'SELECT') THEN ''
         WHEN c.relkind <> 'S' AND NOT has_table_privilege(c.oid, 'SELECT') THEN ''
         ELSE 'row-level security'
       END
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'S')
   AND n.nspname <> 'information_schema'
   AND n.nspname !~ '^pg_(catalog$|toast|temp_)'
   AND (NOT has_schema_privilege(n.oid, 'USAGE')
        OR (c.relkind = 'S' AND NOT has_sequence_privilege(c.oid, 'SELECT'))
        OR (c.relkind <> 'S' AND NOT has_table_privilege(c.oid, 'SELECT'))
        OR (c.relrowsecurity
            AND NOT pg_has_role(c.relowner, 'USAGE')
            AND NOT (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user)))
 ORDER BY 1
"""


# pg_read_all_data does not cover large objects; reading one needs SELECT on it (through PUBLIC
# or a role the login is a member of), being (a member of) its owner, superuser, or the
# lo_compat_privileges setting. has_largeobject_privilege() exists only from PostgreSQL 17.
UNREADABLE_LARGE_OBJECTS = """
SELECT m.oid::text, pg_get_userbyid(m.lomowner), count(*) OVER ()
  FROM pg_largeobject_metadata m
 WHERE NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
   AND NOT current_setting('lo_compat_privileges')::boolean
   AND NOT pg_has_role(m.lomowner, 'USAGE')
   AND NOT EXISTS (
         SELECT 1 FROM aclexplode(m.lomacl) a
          WHERE a.privilege_type = 'SELECT'
            AND CASE WHEN a.grantee = 0 THEN true ELSE pg_has_role(a.grantee, 'USAGE') END)
 ORDER BY m.oid
 LIMIT %s
"""


class PostgresDatabase(Database):
    """Ask a PostgreSQL server for its version and its databases."""

    def __init__(
        self,
        credentials: Credentials,
        redactor: Redactor,
        connect_timeout: int = DEFAULT_CONNECT_TIMEOUT,
    ) -> None:
        self.credentials = credentials
        self.redactor = redactor
        self.connect_timeout = connect_timeout

    def server_info(self, target: ServerTarget) -> ServerInfo:
        """Return `server_version_num` and `server_version`."""
        rows = self._query(target, SERVER_VERSION, ())
        version_num, version = rows[0]
        return ServerInfo(int(version_num), str(version))

    def list_databases(self, target: ServerTarget, exclude: Collection[str]) -> list[DatabaseInfo]:
        """Return every connectable, non-template database not in `exclude`, largest first."""
        rows = self._query(target, LIST_DATABASES, (list(exclude),))
        return [DatabaseInfo(str(name), int(size)) for name, size in rows]

    def unreadable_tables(self, target: ServerTarget, database: str) -> list[str]:
        """Return the tables and sequences of `database` pg_dump could not read as this login."""
        with connect(
            target, self.credentials, database, self.redactor, self.connect_timeout
        ) as conn:
            try:
                rows = conn.execute(UNREADABLE_TABLES).fetchall()
            except psycopg.Error as exc:
                raise connection_error(target, f"query failed: {exc}", self.redactor) from None
        return [f"{name} ({reason})" if reason else str(name) for name, reason in rows]

    def unreadable_large_objects(self, target: ServerTarget, database: str) -> list[str]:
        """Return the large objects of `database` this login cannot read; see the port."""
        with connect(
            target, self.credentials, database, self.redactor, self.connect_timeout
        ) as conn:
            try:
                rows = conn.execute(UNREADABLE_LARGE_OBJECTS, (LARGE_OBJECTS_LISTED,)).fetchall()
            except psycopg.Error as exc:
                raise connection_error(target, f"query failed: {exc}", self.redactor) from None
        found = [f"large object {oid} (owned by {owner})" for oid, owner, _ in rows]
        total = int(rows[0][2]) if rows else 0
        if total > len(found):
            found.append(f"and {total - len(found)} more large objects")
        return found

    def _query(
        self, target: ServerTarget, query: str, params: tuple[Any, ...]
    ) -> list[tuple[Any, ...]]:
        with self._connect_maintenance(target) as conn:
            try:
                return conn.execute(query, params).fetchall()
            except psycopg.Error as exc:
                raise connection_error(target, f"query failed: {exc}", self.redactor) from None

    def _connect_maintenance(self, target: ServerTarget) -> psycopg.Connection[tuple[Any, ...]]:
        return connect_maintenance(
            lambda dbname: connect(
                target, self.credentials, dbname, self.redactor, self.connect_timeout
            )
        )
