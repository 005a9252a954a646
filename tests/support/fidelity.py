"""A database with everything a restore must bring back, and a comparison of two databases.

`build_rich_database` makes what PostgreSQL's regression database exercises at the database level
and more: a comment, `ALTER DATABASE ... SET` of several settings, CONNECT and TEMPORARY granted
(and revoked from PUBLIC), a per-role-per-database setting, a connection limit, an owner other
than the restoring login; inside it many schemas, row-level security, large objects, sequences,
views, functions, grants. `dump_as_created` is `pg_dump --create` of a database as plain SQL,
with its name replaced and the random `\\restrict` keys removed, so two databases compare.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

from psycopg import sql

from tests.support.postgres import PostgresServer

SCHEMAS = 12
SETTINGS = {
    "lc_messages": "C",
    "lc_monetary": "C",
    "lc_numeric": "C",
    "lc_time": "C",
    "bytea_output": "escape",
    "timezone_abbreviations": "Default",
}


@dataclass(frozen=True)
class RichDatabase:
    """What `build_rich_database` made: the database and the roles around it."""

    name: str
    owner: str
    reader: str
    tag: str


def build_rich_database(server: PostgresServer, tag: str) -> RichDatabase:
    """Create `rich_<tag>` owned by `owner_<tag>`, with `reader_<tag>` granted into it."""
    name, owner, reader = f"rich_{tag}", f"owner_{tag}", f"reader_{tag}"
    for role in (owner, reader):
        server.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(role)))
    server.create_database(name, owner=owner)
    db, own, read = sql.Identifier(name), sql.Identifier(owner), sql.Identifier(reader)
    statements: list[sql.Composed] = [
        sql.SQL("COMMENT ON DATABASE {} IS {}").format(
            db, sql.Literal('Rich test database; it\'s "quoted"\nand two lines')
        ),
        *(
            sql.SQL("ALTER DATABASE {} SET {} TO {}").format(
                db, sql.Identifier(key), sql.Literal(value)
            )
            for key, value in SETTINGS.items()
        ),
        sql.SQL("ALTER DATABASE {} CONNECTION LIMIT 40").format(db),
        sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(db),
        sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(db, read),
        sql.SQL("ALTER ROLE {} IN DATABASE {} SET work_mem TO '3MB'").format(read, db),
    ]
    for statement in statements:
        server.execute(statement)
    inside: list[str | sql.Composed] = [
        "CREATE EXTENSION IF NOT EXISTS pgcrypto",
        *(schema_sql(i) for i in range(1, SCHEMAS + 1)),
        "CREATE TABLE public.secrets (id int, owner_name text, body text)",
        "INSERT INTO public.secrets SELECT g, 'user' || (g % 3), md5(g::text) "
        "FROM generate_series(1, 90) g",
        "ALTER TABLE public.secrets ENABLE ROW LEVEL SECURITY",
        "CREATE POLICY mine ON public.secrets USING (owner_name = current_user)",
        "CREATE TABLE public.parted (id int, at date) PARTITION BY RANGE (at)",
        "CREATE TABLE public.parted_2025 PARTITION OF public.parted "
        "FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')",
        "CREATE TABLE public.parted_2026 PARTITION OF public.parted "
        "FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')",
        "INSERT INTO public.parted SELECT g, date '2025-06-01' + g FROM generate_series(1, 400) g",
        "CREATE FUNCTION public.twice(x int) RETURNS int LANGUAGE sql AS $$ SELECT x * 2 $$",
        "SELECT lo_from_bytea(0, convert_to('large object ' || g, 'UTF8')) "
        "FROM generate_series(1, 3) g",
        "CREATE MATERIALIZED VIEW public.counts AS SELECT count(*) AS n FROM public.secrets",
    ]
    for step in inside:
        server.execute(step, dbname=name)
    owned: list[sql.Composed] = [
        sql.SQL("ALTER TABLE public.secrets OWNER TO {}").format(own),
        sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(read),
        sql.SQL("GRANT USAGE ON SCHEMA s1 TO {}").format(read),
        sql.SQL("ALTER SCHEMA s2 OWNER TO {}").format(own),
    ]
    for grant in owned:
        server.execute(grant, dbname=name)
    return RichDatabase(name=name, owner=owner, reader=reader, tag=tag)


def schema_sql(number: int) -> sql.Composed:
    """Return the SQL making schema `s<number>` with a table of `number * 7` rows and a view."""
    return sql.SQL(
        "CREATE SCHEMA {s}; CREATE TABLE {s}.items (id serial PRIMARY KEY, label text);"
        "INSERT INTO {s}.items (label) SELECT 'item ' || g FROM generate_series(1, {n}) g;"
        "CREATE VIEW {s}.labels AS SELECT label FROM {s}.items"
    ).format(s=sql.Identifier(f"s{number}"), n=sql.Literal(number * 7))


def dump_as_created(server: PostgresServer, database: str, name_as: str) -> str:
    """Return `pg_dump --create` of `database` as SQL, its name written as `name_as`."""
    result = subprocess.run(
        [
            str(server.bin_dir / "pg_dump"),
            "--create",
            "--format=plain",
            f"--dbname=host={server.host} port={server.port} user={server.superuser} "
            f"dbname={database}",
        ],
        env={"PGPASSWORD": server.password, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    lines = [
        line
        for line in result.stdout.splitlines()
        if not line.startswith(("\\restrict", "\\unrestrict"))
    ]
    return re.sub(rf"\b{re.escape(database)}\b", name_as, "\n".join(lines))


def database_facts(
    server: PostgresServer, database: str, ignore_role: str = ""
) -> dict[str, object]:
    """Return the database's comment, settings, ACL, connection limit and owner.

    Settings and privileges of `ignore_role` are left out.
    """
    with server.connect() as conn:
        row = conn.execute(
            "SELECT shobj_description(d.oid, 'pg_database'), d.datacl::text, d.datconnlimit,"
            "       pg_get_userbyid(d.datdba), d.encoding, d.datcollate, d.datctype"
            "  FROM pg_database d WHERE d.datname = %s",
            (database,),
        ).fetchone()
        settings = conn.execute(
            "SELECT coalesce(pg_get_userbyid(s.setrole), ''), s.setconfig::text"
            "  FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase"
            " WHERE d.datname = %s ORDER BY 1",
            (database,),
        ).fetchall()
    assert row is not None
    comment, acl, limit, owner, encoding, collate, ctype = row
    items = sorted(
        item
        for item in str(acl).strip("{}").split(",")
        if not ignore_role or ignore_role not in item
    )
    return {
        "comment": comment,
        "acl": items,
        "connection limit": limit,
        "owner": owner,
        "encoding": (encoding, collate, ctype),
        "settings": [s for s in settings if not ignore_role or s[0] != ignore_role],
    }
