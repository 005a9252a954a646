"""gzip and zstd runs on one share: stored, restored with stock tools, and read back by the jobs.

The real backup job makes a run with `compression = "gzip:6"` (the older runs of a share), then
one with `zstd:3`; the stock commands each run's RESTORE.txt gives (`gpg --decrypt … | zstd -d |
pg_restore …`) are run as they are written, in bash, with nothing of this project; then restore,
verify and decrypt read both kinds. Real PostgreSQL 15, gpg, zstd; a local directory share.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg import sql

from tests.support.gpg import KeyPair, generate_key_pair
from tests.support.jobs import Site, b64
from tests.support.postgres import PostgresServer
from tests.support.stock import bash, commands_for, operator_keyring, set_aside, stock_env

pytestmark = pytest.mark.integration

QUERY = "SELECT count(*), sum(price), md5(string_agg(label, ',' ORDER BY id)) FROM items"
COMPRESSIONS = ("gzip:6", "zstd:3")


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    # No passphrase: the stock `gpg --decrypt` of RESTORE.txt then runs as written, in batch.
    return generate_key_pair(tmp_path_factory.mktemp("keys"), "acme", "acme@backup.test", None)


class Share:
    """A client with two databases, backed up once with gzip:6 and once with zstd:3."""

    def __init__(self, root: Path, server: PostgresServer, key: KeyPair) -> None:
        self.server = server
        self.key = key
        self.tag = secrets.token_hex(3)
        self.role, self.password = f"zstd_{self.tag}", "pw-" + secrets.token_urlsafe(20)
        server.create_role(self.role, self.password, "pg_read_all_data")
        server.execute(sql.SQL("ALTER ROLE {} CREATEDB").format(sql.Identifier(self.role)))
        self.shop, self.hr = f"shop é {self.tag}", f"hr={self.tag}"
        for name in (self.shop, self.hr):
            server.create_database(name)
            server.execute(
                "CREATE TABLE items (id int PRIMARY KEY, label text, price numeric);"
                "INSERT INTO items SELECT g, 'item ' || g || ' é ' || md5(g::text), g * 1.5 "
                "FROM generate_series(1, 20000) g;",
                dbname=name,
            )
        self.site = Site(root)
        with server.connect() as conn:
            rows = conn.execute("SELECT datname FROM pg_database WHERE NOT datistemplate")
            others = [str(r[0]) for r in rows.fetchall() if r[0] not in (self.shop, self.hr)]
        self.url = self.site.write_client_config(
            "acme",
            {
                "client-name": "acme",
                "postgresql-host": server.host,
                "postgresql-port": str(server.port),
                "postgresql-auth": "password",
                "postgresql-user": self.role,
                "postgresql-secret": self.password,
                "postgresql-sslmode": "disable",
                "key-name": "acme",
                "public-key": b64(key.public_armored),
                "exclude-databases": ",".join(others),
                "storage-unc": f"file://{self.site.share}",
                "end-of-month-retention": "400",
                "end-of-year-retention": "3650",
            },
        )
        self.restore_url = self.site.write_client_config(
            "restore",
            {
                "private-key": b64(key.secret_armored),
                "private-key-passphrase": "",
                "backup-config-host": self.url,
            },
        )
        self.runs: list[Path] = []
        for compression in COMPRESSIONS:
            if self.runs:
                time.sleep(1.1)  # run ids have a one-second resolution
            self.site.settings = {
                "backup": {"pg_bin_dir": str(server.bin_dir), "compression": compression}
            }
            self.site.write_master_config()
            result = self.site.run("backup", "acme", "6", self.url, "-", "-")
            assert result.code == 0, result.stdout + result.stderr
            self.runs.append(max(p for p in self.site.share.glob("end-*/*/*") if p.is_dir()))

    def manifest(self, run: Path) -> dict[str, object]:
        data: dict[str, object] = json.loads((run / "manifest.json").read_text())
        return data

    def query(self, database: str) -> tuple[object, ...]:
        with self.server.connect(database) as conn:
            row = conn.execute(QUERY).fetchone()
        assert row is not None
        return tuple(row)

    def run(self, job: str, *args: str, env: dict[str, str] | None = None):
        return self.site.run(
            job, "acme", self.url, "-", "-", "--restore-vault", self.restore_url, *args, env=env
        )


@pytest.fixture(scope="module")
def share(tmp_path_factory, postgres_server, key_pair) -> Share:
    return Share(tmp_path_factory.mktemp("zstd-site"), postgres_server, key_pair)


@pytest.fixture
def operator_gnupg(tmp_path: Path, key_pair: KeyPair) -> Iterator[Path]:
    """A fresh GNUPGHOME where the operator imported the private key (RESTORE.txt step 2)."""
    with operator_keyring(tmp_path, key_pair.secret_armored) as home:
        yield home


def test_the_older_run_is_stored_by_pg_dump_and_the_newer_by_zstd(share):
    gzip_run, zstd_run = (share.manifest(run) for run in share.runs)

    assert gzip_run["compression"] == "gzip:6"
    assert sorted((d["file"], d["compression"]) for d in gzip_run["databases"]) == sorted(
        [
            ("hr%3D" + share.tag + ".dump.gpg", "gzip:6"),
            (f"shop%20%C3%A9%20{share.tag}.dump.gpg", "gzip:6"),
        ]
    )
    assert (gzip_run["globals"]["file"], gzip_run["globals"]["compression"]) == (
        "globals.sql.gpg",
        "none",
    )
    assert zstd_run["compression"] == "zstd:3"
    assert sorted((d["file"], d["compression"]) for d in zstd_run["databases"]) == sorted(
        [
            ("hr%3D" + share.tag + ".dump.zst.gpg", "zstd:3"),
            (f"shop%20%C3%A9%20{share.tag}.dump.zst.gpg", "zstd:3"),
        ]
    )
    assert (zstd_run["globals"]["file"], zstd_run["globals"]["compression"]) == (
        "globals.sql.zst.gpg",
        "zstd:3",
    )
    zstd_bytes = sum(d["bytes"] for d in zstd_run["databases"])
    gzip_bytes = sum(d["bytes"] for d in gzip_run["databases"])
    assert zstd_bytes < gzip_bytes * 1.2


@pytest.mark.parametrize("index", [0, 1], ids=COMPRESSIONS)
def test_each_run_restores_with_the_stock_commands_its_restore_txt_gives(
    share, operator_gnupg, index
):
    run = share.runs[index]
    env = stock_env(share.server, operator_gnupg)
    restore = (run / "RESTORE.txt").read_text()
    checked = bash("sha256sum -c SHA256SUMS", env, run)
    assert checked.returncode == 0, checked.stderr

    for database in (share.shop, share.hr):
        expected = share.query(database)
        commands = commands_for(restore, database)
        [command] = commands
        assert command.startswith("gpg --decrypt ")
        assert command.endswith(" | pg_restore --create --dbname=postgres")
        if index == 1:
            assert " | zstd -d | pg_restore " in command
        else:
            assert "zstd" not in command
        # The source database makes way for the one RESTORE.txt creates under the same name.
        with set_aside(share.server, database, f"aside_{secrets.token_hex(4)}"):
            done = bash("\n".join(commands), env, run)
            assert done.returncode == 0, done.stderr.decode(errors="replace")
            assert share.query(database) == expected

    [roles] = [line.strip() for line in restore.splitlines() if "| psql -d postgres" in line]
    globals_sql = bash(roles.removesuffix(" | psql -d postgres"), env, run)
    assert globals_sql.returncode == 0, globals_sql.stderr
    assert f"CREATE ROLE {share.role};".encode() in globals_sql.stdout


def test_the_restore_job_restores_either_kind(share):
    server = share.server
    # Applying the globals (roles) needs a login that may create roles: only "already exists" is
    # tolerated (issue 13), so the operator restores as the superuser (libpq reads PGPASSWORD).
    superuser = ["--target-host", server.host, "--target-port", str(server.port)]
    superuser += ["--target-user", server.superuser]
    for run in share.runs:
        target = f"copy_{share.tag}_{secrets.token_hex(3)}"
        result = share.run(
            "restore",
            "--database",
            share.shop,
            "--run",
            run.name,
            "--target-database",
            target,
            "--jobs",
            "2",
            "--globals",
            *superuser,
            env={"PGPASSWORD": server.password},
        )
        assert (result.code, result.failures) == (0, []), result.stdout + result.stderr
        assert f"from run {run.name} " in result.stdout
        assert share.query(target) == share.query(share.shop)
    assert [p for p in (share.site.root / "work").rglob("*") if p.is_file()] == []


def test_verify_reads_every_file_of_both_kinds_back(share):
    result = share.run("verify", "--run", "all")

    assert (result.code, result.failures) == (0, []), result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == (
        "verify acme: 2 runs, 6 files checked, 6 decrypted, 0 problems"
    )


def test_decrypt_writes_the_archive_itself_for_either_kind_and_sql_too(share, tmp_path):
    for run in share.runs:
        output = tmp_path / f"{run.name}.dump"
        result = share.run(
            "decrypt", "--database", share.hr, "--run", run.name, "--output", str(output)
        )
        assert result.code == 0, result.stdout + result.stderr
        assert output.read_bytes().startswith(b"PGDMP")
        listed = subprocess.run(
            [str(share.server.bin_dir / "pg_restore"), "--list", str(output)],
            capture_output=True,
            text=True,
            check=True,
        )
        assert "TABLE DATA public items" in listed.stdout

        sql_output = tmp_path / f"{run.name}.sql"
        result = share.run(
            "decrypt",
            "--database",
            share.hr,
            "--run",
            run.name,
            "--output",
            str(sql_output),
            "--sql",
        )
        assert result.code == 0, result.stdout + result.stderr
        assert "CREATE TABLE public.items" in sql_output.read_text()
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        name for run in share.runs for name in (f"{run.name}.dump", f"{run.name}.sql")
    )
