"""The restore job brings the database back as dumped, under another name (SPEC 13).

A rich database (tests/support/fidelity.py) is backed up by the real backup job as the
superuser, then restored by the real restore job into a database of another name on the same
server; `pg_dump --create` of both, database-level properties included, must be the same once
the name is. Also: what cannot come back is listed and exits 0 only when nothing failed; globals
applied by a login that may not create roles fail the job; psql and pg_restore are those of the
server's release series although pgserver's newer client is installed.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import pytest
from psycopg import sql

from tests.support.fidelity import (
    RichDatabase,
    build_rich_database,
    database_facts,
    dump_as_created,
)
from tests.support.gpg import KeyPair, generate_key_pair
from tests.support.jobs import Site, b64
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.integration

PASSPHRASE = "fidelity-" + secrets.token_urlsafe(8)


class Fidelity:
    """A site whose one run holds the rich database and a ghost role's settings and grant."""

    def __init__(self, root: Path, server: PostgresServer, key: KeyPair) -> None:
        self.server = server
        self.tag = secrets.token_hex(3)
        self.rich: RichDatabase = build_rich_database(server, self.tag)
        self.ghost = f"ghost_{self.tag}"
        db, ghost = sql.Identifier(self.rich.name), sql.Identifier(self.ghost)
        server.execute(sql.SQL("CREATE ROLE {}").format(ghost))
        server.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(db, ghost))
        server.execute(
            sql.SQL("ALTER ROLE {} IN DATABASE {} SET work_mem TO '5MB'").format(ghost, db)
        )
        self.site = Site(root)
        with server.connect() as conn:
            names = [str(r[0]) for r in conn.execute("SELECT datname FROM pg_database").fetchall()]
        self.url = self.site.write_client_config(
            "acme",
            {
                "client-name": "acme",
                "postgresql-host": server.host,
                "postgresql-port": str(server.port),
                "postgresql-auth": "password",
                "postgresql-user": server.superuser,
                "postgresql-secret": server.password,
                "postgresql-sslmode": "disable",
                "key-name": "acme",
                "public-key": b64(key.public_armored),
                "exclude-databases": ",".join(n for n in names if n != self.rich.name),
                "storage-unc": f"file://{self.site.share}",
                "end-of-month-retention": "400",
                "end-of-year-retention": "3650",
            },
        )
        self.restore_url = self.site.write_client_config(
            "restore",
            {
                "private-key": b64(key.secret_armored),
                "private-key-passphrase": PASSPHRASE,
                "backup-config-host": self.url,
            },
        )
        result = self.site.run("backup", "acme", "6", self.url, "-", "-")
        assert result.code == 0, result.stdout + result.stderr
        self.drop_ghost()

    def drop_ghost(self) -> None:
        """Drop the ghost role (and its grants): what names it cannot come back without it."""
        with self.server.connect() as conn:
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (self.ghost,)).fetchone():
                ghost = sql.Identifier(self.ghost)
                conn.execute(sql.SQL("DROP OWNED BY {}").format(ghost))
                conn.execute(sql.SQL("DROP ROLE {}").format(ghost))

    def restore(self, target: str, *args: str, env: dict[str, str] | None = None):
        return self.site.run(
            "restore", "acme", self.url, "-", "-", "--restore-vault", self.restore_url,
            "--database", self.rich.name, "--target-database", target, *args, env=env,
        )  # fmt: skip


@pytest.fixture(scope="module")
def fidelity(tmp_path_factory, postgres_server) -> Fidelity:
    key = generate_key_pair(tmp_path_factory.mktemp("keys"), "acme", "acme@test", PASSPHRASE)
    return Fidelity(tmp_path_factory.mktemp("fidelity"), postgres_server, key)


def without_ghost(text: str, ghost: str) -> str:
    return "\n".join(line for line in text.splitlines() if ghost not in line)


def test_restore_with_keep_owners_and_globals_reproduces_the_database_under_another_name(
    fidelity, postgres_server
):
    target = f"copy_{fidelity.tag}"
    started = time.monotonic()

    result = fidelity.restore(target, "--jobs", "2", "--keep-owners", "--globals")

    assert result.code == 0, result.stdout + result.stderr
    assert result.failures == []
    summary = result.stdout.splitlines()[-1]
    assert summary.startswith(f"restore acme: {fidelity.rich.name} from run ")
    # --globals brought the ghost role back, so its grant and setting came back too.
    assert summary.endswith(" database-level properties applied")
    assert time.monotonic() - started < 120
    source = dump_as_created(postgres_server, fidelity.rich.name, "the_db")
    copy = dump_as_created(postgres_server, target, "the_db")
    # The ghost's grant and setting were revoked in the source after the backup.
    assert without_ghost(copy, fidelity.ghost) == without_ghost(source, fidelity.ghost)
    ghost = fidelity.ghost
    assert database_facts(postgres_server, target, ghost) == database_facts(
        postgres_server, fidelity.rich.name, ghost
    )


def test_the_database_comment_is_not_rewritten_even_where_it_holds_the_name(fidelity):
    facts = database_facts(fidelity.server, fidelity.rich.name)
    assert facts["comment"] == 'Rich test database; it\'s "quoted"\nand two lines'


def test_without_keep_owners_the_owner_and_what_names_missing_roles_are_listed(
    fidelity, postgres_server
):
    fidelity.drop_ghost()
    target = f"noowner_{fidelity.tag}"

    result = fidelity.restore(target)

    assert result.code == 0, result.stdout + result.stderr
    summary = result.stdout.splitlines()[-1]
    assert f"OWNER TO {fidelity.rich.owner} (the owner is kept only with --keep-owners)" in summary
    assert summary.count(f'role "{fidelity.ghost}" does not exist') == 2
    assert f"not brought back into {target}" in fidelity.site.logs()
    facts = database_facts(postgres_server, target)
    source = database_facts(postgres_server, fidelity.rich.name)
    assert facts["owner"] == postgres_server.superuser
    for key in ("comment", "connection limit", "encoding", "settings"):
        assert facts[key] == source[key], key


def test_globals_applied_by_a_login_that_may_not_create_roles_fail_the_job(
    fidelity, postgres_server
):
    login, password = f"creator_{fidelity.tag}", "pw-" + secrets.token_urlsafe(12)
    postgres_server.create_role(login, password)
    postgres_server.execute(sql.SQL("ALTER ROLE {} CREATEDB").format(sql.Identifier(login)))
    target = f"noroles_{fidelity.tag}"

    result = fidelity.restore(
        target, "--globals", "--target-host", postgres_server.host, "--target-user", login,
        env={"PGPASSWORD": password},
    )  # fmt: skip

    assert result.code != 0, result.stdout
    failure = next(line for line in result.failures if line.startswith("Failure: restore_globals"))
    assert "permission denied to create role" in failure
    assert 'only "already exists" is expected' in failure
    assert password not in result.stdout + fidelity.site.logs()


def test_the_restore_uses_the_psql_and_pg_restore_of_the_servers_release_series(fidelity):
    logs = fidelity.site.logs()
    chosen = [line for line in logs.splitlines() if " for the server 15." in line]

    assert any("psql 15." in line and "/usr/lib/postgresql/15/bin" in line for line in chosen)
    assert any("pg_restore 15." in line for line in chosen)
    assert "16.2" not in "\n".join(chosen)
    assert "invalid command" not in logs


def test_verify_of_the_run_reads_every_archive_and_matches_the_recorded_counts(fidelity):
    result = fidelity.site.run(
        "verify", "acme", fidelity.url, "-", "-", "--restore-vault", fidelity.restore_url
    )

    assert (result.code, result.failures) == (0, []), result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == (
        "verify acme: 1 run, 2 files checked, 2 decrypted, 0 problems"
    )
