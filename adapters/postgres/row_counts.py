"""Count the rows of every table pg_dump dumps the data of, in the caller's transaction.

pg_dump writes a TABLE DATA entry for every ordinary table (partitions are tables of their own,
a partitioned or inheritance parent holds only its own rows: COPY reads no child), outside the
system schemas, that is not a member of an extension, and for extension configuration tables
with their extension's filter (`pg_extension_config_dump`). It skips unlogged tables on a
standby, foreign tables and materialized views (a REFRESH, not rows). This module counts exactly
those, with `count(*) FROM ONLY`, so that the count is the number of rows the dump holds when it
runs in the dump's snapshot (backup), and the number restored when it runs on the restored copy
(drill). Tested against a real server in tests/integration/test_postgres_dumper.py.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from domain.models.manifest import TableRows

# extcondition is a WHERE clause pg_dump appends to its COPY of a configuration table; an
# extension created by initdb (plpgsql) is never dumped, so neither are its tables' rows.
DUMPED_TABLES = """
SELECT n.nspname, c.relname, coalesce(cfg.condition, '')
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN LATERAL (
    SELECT e.oid AS extension, e.extcondition[array_position(e.extconfig, c.oid)] AS condition
      FROM pg_extension e
     WHERE c.oid = ANY (e.extconfig) AND e.oid >= 16384
     LIMIT 1
  ) cfg ON true
 WHERE c.relkind = 'r'
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
   AND (cfg.extension IS NOT NULL OR NOT EXISTS (
        SELECT 1 FROM pg_depend d
         WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'))
   AND NOT (c.relpersistence = 'u' AND pg_is_in_recovery())
 ORDER BY 1, 2
"""
BATCH = 200
"""Tables counted by one query."""
LARGE_OBJECTS = "SELECT pg_catalog.count(*) FROM pg_catalog.pg_largeobject_metadata"


def count_rows(conn: psycopg.Connection[tuple[Any, ...]]) -> tuple[TableRows, ...]:
    """Return every dumped table's row count, sorted by schema and table.

    The counts go `BATCH` tables to a query (`UNION ALL`): a database of 10,000 small tables
    costs 50 round trips, not 10,000.

    Raises:
        psycopg.Error: a table cannot be read (the caller says by whom and where).
    """
    # As pg_dump does: no time limit, and nothing of the database's own on the search path
    # (every name below is qualified; a function named count in public must not be called).
    conn.execute("SET statement_timeout = 0")
    conn.execute("SET search_path = ''")
    tables = conn.execute(DUMPED_TABLES).fetchall()
    counted = []
    for first in range(0, len(tables), BATCH):
        batch = tables[first : first + BATCH]
        query = sql.SQL(" UNION ALL ").join(
            sql.SQL("SELECT {}::int, pg_catalog.count(*) FROM ONLY {}.{} {}").format(
                sql.Literal(index), sql.Identifier(schema), sql.Identifier(table), sql.SQL(where)
            )
            for index, (schema, table, where) in enumerate(batch)
        )
        rows = dict(conn.execute(query).fetchall())
        counted += [
            TableRows(schema_name=schema, table=table, rows=int(rows[index]))
            for index, (schema, table, _) in enumerate(batch)
        ]
    return tuple(counted)


def count_large_objects(conn: psycopg.Connection[tuple[Any, ...]]) -> int:
    """Return the number of large objects in the database."""
    row = conn.execute(LARGE_OBJECTS).fetchone()
    return int(row[0]) if row else 0
