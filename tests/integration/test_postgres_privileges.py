"""PostgresDatabase.unreadable_tables against a real PostgreSQL 15 server."""

from __future__ import annotations

import secrets

import pytest
from psycopg import sql

from adapters.postgres.credentials import CredentialsByAuth, PasswordCredentials
from adapters.postgres.database import PostgresDatabase
from domain.models.redaction import Redactor
from ports.errors import DatabaseError
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def world(postgres_server: PostgresServer) -> dict[str, str]:
    tag = secrets.token_hex(3)
    role, password = f"reader_{tag}", "pw-" + secrets.token_urlsafe(16)
    reader, reader_password = f"all_{tag}", "pw-" + secrets.token_urlsafe(16)
    postgres_server.create_role(role, password)
    postgres_server.create_role(reader, reader_password, "pg_read_all_data")
    name = f"priv_{tag}"
    postgres_server.create_database(name)
    who = sql.Identifier(role)
    for statement in (
        sql.SQL("CREATE TABLE open_table (id serial)"),
        sql.SQL("CREATE TABLE hidden (id int)"),
        sql.SQL("CREATE TABLE guarded (id int)"),
        sql.SQL("ALTER TABLE guarded ENABLE ROW LEVEL SECURITY"),
        sql.SQL("CREATE SCHEMA closed"),
        sql.SQL("CREATE TABLE closed.inside (id int)"),
        sql.SQL("GRANT SELECT ON open_table, guarded, closed.inside TO {}").format(who),
        sql.SQL("GRANT SELECT ON SEQUENCE open_table_id_seq TO {}").format(who),
    ):
        postgres_server.execute(statement, dbname=name)
    return {
        "database": name,
        "role": role,
        "password": password,
        "reader": reader,
        "reader_password": reader_password,
    }


@pytest.fixture
def database() -> PostgresDatabase:
    return PostgresDatabase(CredentialsByAuth({"password": PasswordCredentials()}), Redactor())


def test_missing_grants_schema_usage_and_row_level_security_are_each_named(
    postgres_server, world, database
):
    target = postgres_server.target(world["role"], world["password"])
    assert database.unreadable_tables(target, world["database"]) == [
        "closed.inside (no USAGE on schema closed)",
        "public.guarded (row-level security)",
        "public.hidden",
    ]


def test_pg_read_all_data_reads_everything_but_row_level_security(postgres_server, world, database):
    target = postgres_server.target(world["reader"], world["reader_password"])
    assert database.unreadable_tables(target, world["database"]) == [
        "public.guarded (row-level security)"
    ]


def test_the_superuser_reads_everything(postgres_server, world, database):
    assert database.unreadable_tables(postgres_server.target(), world["database"]) == []


def test_a_database_the_role_cannot_reach_is_a_database_error(postgres_server, world, database):
    target = postgres_server.target(world["role"], world["password"])
    with pytest.raises(DatabaseError, match="does not exist"):
        database.unreadable_tables(target, "no_such_database_here")


def test_large_objects_of_another_owner_are_named_unless_granted_or_shared(
    postgres_server, database
):
    tag = secrets.token_hex(3)
    owner, member, outsider = f"lo_owner_{tag}", f"lo_member_{tag}", f"lo_out_{tag}"
    password = "pw-" + secrets.token_urlsafe(16)
    postgres_server.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(owner)))
    postgres_server.create_role(member, password, "pg_read_all_data", owner)
    postgres_server.create_role(outsider, password, "pg_read_all_data")
    name = f"lo_{tag}"
    postgres_server.create_database(name)
    oids = []
    with postgres_server.connect(name) as conn:
        for _ in range(3):
            row = conn.execute("SELECT lo_from_bytea(0, 'x')").fetchone()
            assert row is not None
            oids.append(int(str(row[0])))
        for oid in oids:
            conn.execute(
                sql.SQL("ALTER LARGE OBJECT {} OWNER TO {}").format(
                    sql.Literal(oid), sql.Identifier(owner)
                )
            )
        conn.execute(
            sql.SQL("GRANT SELECT ON LARGE OBJECT {} TO PUBLIC").format(sql.Literal(oids[1]))
        )
        conn.execute(
            sql.SQL("GRANT SELECT ON LARGE OBJECT {} TO {}").format(
                sql.Literal(oids[2]), sql.Identifier(outsider)
            )
        )

    as_outsider = postgres_server.target(outsider, password)
    assert database.unreadable_large_objects(as_outsider, name) == [
        f"large object {oids[0]} (owned by {owner})"
    ]
    assert database.unreadable_large_objects(postgres_server.target(member, password), name) == []
    assert database.unreadable_large_objects(postgres_server.target(), name) == []
