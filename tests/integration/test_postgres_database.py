"""PostgresDatabase and the credentials against a real PostgreSQL 15 server."""

from __future__ import annotations

import dataclasses
import secrets
import subprocess
import sys

import pytest
from psycopg import sql
from pydantic import SecretStr

from adapters.postgres.credentials import (
    CredentialsByAuth,
    EntraTokenCredentials,
    PasswordCredentials,
)
from adapters.postgres.database import PostgresDatabase
from domain.models.redaction import Redactor
from ports.database import ServerTarget
from ports.errors import DatabaseError
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.integration


def unique(prefix: str = "lts") -> str:
    return f"{prefix}_{secrets.token_hex(4)}"


@pytest.fixture
def database() -> PostgresDatabase:
    return PostgresDatabase(CredentialsByAuth({"password": PasswordCredentials()}), Redactor())


def test_server_info_reports_the_server_version(
    postgres_server: PostgresServer, database: PostgresDatabase
):
    info = database.server_info(postgres_server.target())

    assert info.major == 15
    assert info.version.startswith("15.")


def test_list_databases_returns_created_databases_minus_excludes_largest_first(
    postgres_server: PostgresServer, database: PostgresDatabase
):
    small, large, excluded = unique("small"), unique("large"), unique("excluded")
    for name in (small, large, excluded):
        postgres_server.create_database(name)
    postgres_server.execute(
        "CREATE TABLE filler AS SELECT g, md5(g::text) AS s FROM generate_series(1, 20000) g",
        dbname=large,
    )

    found = database.list_databases(postgres_server.target(), exclude=[excluded])

    names = [info.name for info in found]
    assert small in names
    assert large in names
    assert excluded not in names
    assert names.index(large) < names.index(small)
    assert found == sorted(found, key=lambda info: (-info.size, info.name))
    assert all(info.size > 0 for info in found)


def test_list_databases_handles_names_with_spaces_quotes_and_non_ascii(
    postgres_server: PostgresServer, database: PostgresDatabase
):
    token = secrets.token_hex(3)
    quoted, accented, with_equals = f'sales "eu" {token}', f"données {token}", f"a=b' c {token}"
    for name in (quoted, accented, with_equals):
        postgres_server.create_database(name)

    names = [
        info.name
        for info in database.list_databases(postgres_server.target(), exclude=[with_equals])
    ]

    assert quoted in names
    assert accented in names
    assert with_equals not in names


def test_list_databases_skips_templates_and_databases_that_refuse_connections(
    postgres_server: PostgresServer, database: PostgresDatabase
):
    as_template, closed = unique("template"), unique("closed")
    postgres_server.create_database(as_template)
    postgres_server.create_database(closed)
    postgres_server.execute(
        sql.SQL("ALTER DATABASE {} IS_TEMPLATE true").format(sql.Identifier(as_template))
    )
    postgres_server.execute(
        sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(sql.Identifier(closed))
    )

    names = [info.name for info in database.list_databases(postgres_server.target(), exclude=[])]

    assert "postgres" in names
    for name in ("template0", "template1", as_template, closed):
        assert name not in names


def test_list_databases_as_a_plain_role_lists_a_forbidden_database_with_size_zero(
    postgres_server: PostgresServer, database: PostgresDatabase
):
    role, password, forbidden = unique("role"), secrets.token_urlsafe(16), unique("forbidden")
    postgres_server.create_role(role, password)
    postgres_server.create_database(forbidden)
    postgres_server.execute(
        sql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(sql.Identifier(forbidden))
    )

    found = database.list_databases(postgres_server.target(role, password), exclude=[])

    sizes = {info.name: info.size for info in found}
    assert sizes[forbidden] == 0
    assert sizes["postgres"] > 0


def test_wrong_password_gives_a_one_line_database_error_without_the_password(
    postgres_server: PostgresServer, database: PostgresDatabase
):
    wrong = "wrong-" + secrets.token_urlsafe(16)
    target = postgres_server.target(password=wrong)

    with pytest.raises(DatabaseError) as caught:
        database.list_databases(target, exclude=[])

    message = str(caught.value)
    assert message.startswith(f"cannot connect to 127.0.0.1:{postgres_server.port} as postgres: ")
    assert "password authentication failed" in message
    assert "\n" not in message
    assert wrong not in message
    assert postgres_server.password not in message
    assert caught.value.__cause__ is None


def test_unreachable_server_gives_a_database_error(
    postgres_server: PostgresServer, database: PostgresDatabase
):
    target = dataclasses.replace(postgres_server.target(), port=1)

    with pytest.raises(DatabaseError, match=r"^cannot connect to 127\.0\.0\.1:1 as postgres: "):
        database.server_info(target)


def test_unknown_auth_is_a_database_error(
    postgres_server: PostgresServer, database: PostgresDatabase
):
    with pytest.raises(DatabaseError, match="unknown postgresql-auth 'kerberos'"):
        database.server_info(postgres_server.target(auth="kerberos"))


def test_entra_credentials_that_cannot_reach_the_authority_give_an_error_without_the_secret():
    client_secret = "client-secret-" + secrets.token_urlsafe(16)
    credentials = EntraTokenCredentials(
        "00000000-0000-0000-0000-000000000000",
        "https://127.0.0.1:1",
        disable_instance_discovery=True,
        client_options={"retry_total": 0},
    )
    target = ServerTarget(
        "127.0.0.1",
        5432,
        "11111111-1111-1111-1111-111111111111",
        "entra",
        SecretStr(client_secret),
        "require",
    )

    with pytest.raises(DatabaseError, match=r"^cannot get an Entra ID token for ") as caught:
        credentials.password(target)

    assert client_secret not in str(caught.value)
    assert "\n" not in str(caught.value)


def test_importing_the_postgres_adapters_does_not_import_the_azure_sdk():
    code = (
        "import sys\n"
        "import adapters.postgres.credentials, adapters.postgres.database\n"
        "import adapters.postgres.dumper\n"
        "sys.exit(1 if any(m.startswith('azure') for m in sys.modules) else 0)\n"
    )

    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True)

    assert result.returncode == 0, result.stderr


def test_server_questions_go_to_template1_when_the_postgres_database_was_dropped(
    postgres_server: PostgresServer, database: PostgresDatabase
):
    away = unique("postgres_away")
    postgres_server.execute(f'ALTER DATABASE postgres RENAME TO "{away}"', dbname="template1")
    try:
        info = database.server_info(postgres_server.target())
        names = [found.name for found in database.list_databases(postgres_server.target(), [])]
    finally:
        postgres_server.execute(f'ALTER DATABASE "{away}" RENAME TO postgres', dbname="template1")

    assert info.major == 15
    assert away in names
