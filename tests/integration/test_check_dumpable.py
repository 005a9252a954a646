"""check finds what would make pg_dump fail, before the first run (SPEC 5, 13).

The finding of issue 13, reproduced: a backup role with pg_read_all_data and BYPASSRLS, and a
large object owned by someone else. The backup fails on it (`permission denied for large object`);
check must name it, and a table behind row-level security for a role without BYPASSRLS, each in
one line.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from psycopg import sql

from tests.support.gpg import generate_key_pair
from tests.support.jobs import JobResult, Site, b64
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.integration


class Planted:
    """A database with a large object of its owner's and a table with row-level security."""

    def __init__(self, root: Path, server: PostgresServer) -> None:
        self.server = server
        tag = secrets.token_hex(3)
        self.database, self.owner = f"lo_{tag}", f"lo_owner_{tag}"
        server.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(self.owner)))
        server.create_database(self.database, owner=self.owner)
        server.execute(
            sql.SQL(
                "SET ROLE {}; CREATE TABLE notes (who text, body text);"
                "INSERT INTO notes VALUES ('a', 'x'), ('b', 'y');"
                "ALTER TABLE notes ENABLE ROW LEVEL SECURITY;"
                "CREATE POLICY own ON notes USING (who = current_user);"
            ).format(sql.Identifier(self.owner)),
            dbname=self.database,
        )
        with server.connect(self.database) as conn:
            conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(self.owner)))
            row = conn.execute("SELECT lo_from_bytea(0, 'secret bytes')").fetchone()
        assert row is not None
        self.large_object = int(str(row[0]))
        self.site = Site(root)
        key = generate_key_pair(root / "keys", "acme", "acme@test", None)
        with server.connect() as conn:
            names = [str(r[0]) for r in conn.execute("SELECT datname FROM pg_database").fetchall()]
        self.exclude = ",".join(n for n in names if n != self.database and "," not in n)
        self.public_key = key.public_armored

    def client(self, role: str, password: str) -> str:
        return self.site.write_client_config(
            role,
            {
                "client-name": "acme",
                "postgresql-host": self.server.host,
                "postgresql-port": str(self.server.port),
                "postgresql-auth": "password",
                "postgresql-user": role,
                "postgresql-secret": password,
                "postgresql-sslmode": "disable",
                "key-name": "acme",
                "public-key": b64(self.public_key),
                "exclude-databases": self.exclude,
                "storage-unc": f"file://{self.site.share}",
                "end-of-month-retention": "400",
                "end-of-year-retention": "3650",
            },
        )

    def role(self, *options: str) -> tuple[str, str]:
        role, password = f"bk_{secrets.token_hex(3)}", "pw-" + secrets.token_urlsafe(16)
        self.server.create_role(role, password, "pg_read_all_data")
        for option in options:
            self.server.execute(
                sql.SQL("ALTER ROLE {} {}").format(sql.Identifier(role), sql.SQL(option))
            )
        return role, password

    def run(self, job: str, url: str, *args: str) -> JobResult:
        return self.site.run(job, "acme", *args, url, "-", "-")


@pytest.fixture(scope="module")
def planted(tmp_path_factory, postgres_server) -> Planted:
    return Planted(tmp_path_factory.mktemp("check-dumpable"), postgres_server)


def test_a_large_object_the_role_cannot_read_fails_the_backup_and_check_names_it(planted):
    role, password = planted.role("BYPASSRLS")
    url = planted.client(role, password)

    backup = planted.site.run("backup", "acme", "6", url, "-", "-")
    check = planted.run("check", url)

    assert backup.code == 1, backup.stdout
    assert f"permission denied for large object {planted.large_object}" in backup.failures[0]
    assert check.code == 1, check.stdout + check.stderr
    assert check.failures == [
        f"Failure: report_unreadable acme {planted.database} large object {planted.large_object} "
        f"(owned by {planted.owner}) cannot be read by the backup role {role}, so pg_dump would "
        "fail: grant it SELECT on the large object, or make it a member of the owner"
    ]


def test_a_granted_large_object_and_bypassrls_make_the_check_and_the_backup_clean(planted):
    role, password = planted.role("BYPASSRLS")
    planted.server.execute(
        sql.SQL("GRANT SELECT ON LARGE OBJECT {} TO {}").format(
            sql.Literal(planted.large_object), sql.Identifier(role)
        ),
        dbname=planted.database,
    )
    url = planted.client(role, password)

    check = planted.run("check", url)
    backup = planted.site.run("backup", "acme", "6", url, "-", "-")

    assert (check.code, check.failures) == (0, []), check.stdout + check.stderr
    assert (backup.code, backup.failures) == (0, []), backup.stdout


def test_row_level_security_without_bypassrls_is_named_with_its_table(planted):
    role, password = planted.role()
    planted.server.execute(
        sql.SQL("GRANT SELECT ON LARGE OBJECT {} TO {}").format(
            sql.Literal(planted.large_object), sql.Identifier(role)
        ),
        dbname=planted.database,
    )

    check = planted.run("check", planted.client(role, password))

    assert check.code == 1, check.stdout
    assert check.failures == [
        f"Failure: report_unreadable acme {planted.database} public.notes (row-level security) "
        f"cannot be read by the backup role {role}, so pg_dump would fail: give it BYPASSRLS "
        "(pg_dump reads every row, policies or not)"
    ]
