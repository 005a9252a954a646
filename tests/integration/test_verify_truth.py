"""verify tells the truth (SPEC 13): a valid archive of an empty database passes; an archive cut
short, damaged or missing entries fails, even when its sha256 and the manifest were made to agree.

A server of its own (so its `postgres` database is really empty) is backed up by the real job as
a role with pg_read_all_data; each test tampers with a copy of the run, the way tests/support/
tamper.py describes, and runs the real verify job with the restore vault.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.gpg import KeyPair, generate_key_pair
from tests.support.jobs import JobResult, Site, b64
from tests.support.postgres import PostgresServer, start_postgres_server
from tests.support.tamper import replace_archive, replace_dump, stored_archive, stored_plaintext

pytestmark = pytest.mark.integration

PASSPHRASE = "verify-" + secrets.token_urlsafe(8)
SHOP = "shop"


@pytest.fixture(scope="module")
def own_server() -> Iterator[PostgresServer]:
    server = start_postgres_server()
    try:
        yield server
    finally:
        server.stop()


class Backed:
    """One published run of `postgres` (empty) and `shop` (two tables), and its configs."""

    def __init__(self, root: Path, server: PostgresServer, key: KeyPair) -> None:
        self.server, self.key, self.root = server, key, root
        self.password = "pw-" + secrets.token_urlsafe(16)
        server.create_role("backup", self.password, "pg_read_all_data")
        server.create_database(SHOP)
        server.execute(
            "CREATE TABLE orders AS SELECT g AS id, md5(g::text) AS note "
            "FROM generate_series(1, 20000) g; CREATE TABLE customers AS SELECT 1 AS id",
            dbname=SHOP,
        )
        self.site = self.make_site(root / "site")
        result = self.site.run("backup", "acme", "6", self.url, "-", "-")
        assert result.code == 0, result.stdout + result.stderr
        self.run_dir = next(p for p in self.site.share.glob("end-*/*/*") if p.is_dir())

    def make_site(self, root: Path) -> Site:
        site = Site(root)
        self.url = site.write_client_config(
            "acme",
            {
                "client-name": "acme",
                "postgresql-host": self.server.host,
                "postgresql-port": str(self.server.port),
                "postgresql-auth": "password",
                "postgresql-user": "backup",
                "postgresql-secret": self.password,
                "postgresql-sslmode": "disable",
                "key-name": "acme",
                "public-key": b64(self.key.public_armored),
                "storage-unc": f"file://{site.share}",
                "end-of-month-retention": "400",
                "end-of-year-retention": "3650",
            },
        )
        self.restore_url = site.write_client_config(
            "restore",
            {
                "private-key": b64(self.key.secret_armored),
                "private-key-passphrase": PASSPHRASE,
                "backup-config-host": self.url,
            },
        )
        return site

    def copy(self, root: Path) -> tuple[Site, Path, str, str]:
        """Return a site holding a copy of the run, its run directory and its config URLs."""
        site = self.make_site(root)
        shutil.copytree(self.site.share, site.share, dirs_exist_ok=True)
        run_dir = site.share / self.run_dir.relative_to(self.site.share)
        return site, run_dir, self.url, self.restore_url

    def pg_dump(self, *args: str) -> bytes:
        return subprocess.run(
            [str(self.server.bin_dir / "pg_dump"), "--format=custom", *args],
            env={"PGPASSWORD": self.server.password, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            check=True,
        ).stdout


@pytest.fixture(scope="module")
def backed(tmp_path_factory, own_server) -> Backed:
    key = generate_key_pair(tmp_path_factory.mktemp("keys"), "acme", "acme@test", PASSPHRASE)
    return Backed(tmp_path_factory.mktemp("verify"), own_server, key)


def verify(site: Site, url: str, restore_url: str) -> JobResult:
    return site.run("verify", "acme", url, "-", "-", "--restore-vault", restore_url)


def conninfo(backed: Backed, database: str) -> str:
    server = backed.server
    return (
        f"--dbname=host={server.host} port={server.port} user={server.superuser} dbname={database}"
    )


def test_a_clean_run_with_the_empty_postgres_database_verifies_with_exit_zero(backed):
    manifest = json.loads((backed.run_dir / "manifest.json").read_text())
    postgres = next(d for d in manifest["databases"] if d["name"] == "postgres")
    assert postgres["status"] == "ok"
    assert postgres["table_data_entries"] == 0
    assert postgres["toc_entries"] >= 3
    assert postgres["tables"] == []

    result = verify(backed.site, backed.url, backed.restore_url)

    assert (result.code, result.failures) == (0, []), result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == (
        "verify acme: 1 run, 3 files checked, 3 decrypted, 0 problems"
    )


def test_the_manifest_records_what_the_shop_dump_held(backed):
    manifest = json.loads((backed.run_dir / "manifest.json").read_text())
    shop = next(d for d in manifest["databases"] if d["name"] == SHOP)
    assert shop["table_data_entries"] == 2
    assert shop["tables"] == [
        {"schema": "public", "table": "customers", "rows": 1},
        {"schema": "public", "table": "orders", "rows": 20000},
    ]
    assert shop["large_objects"] == 0


def test_an_archive_cut_short_and_made_consistent_fails(backed, tmp_path):
    site, run_dir, url, restore_url = backed.copy(tmp_path)
    # The archive itself is cut (compressed again as the run's compression says).
    archive = stored_archive(run_dir, SHOP, backed.key)
    replace_archive(run_dir, SHOP, archive[: len(archive) * 3 // 4], backed.key)

    result = verify(site, url, restore_url)

    assert result.code == 1, result.stdout
    [failure] = result.failures
    assert failure.startswith(f"Failure: decrypt_file acme {run_dir.relative_to(site.share)}/")
    assert "pg_restore failed" in failure


def test_an_archive_damaged_inside_its_data_and_made_consistent_fails(backed, tmp_path):
    site, run_dir, url, restore_url = backed.copy(tmp_path)
    plain = bytearray(stored_plaintext(run_dir, SHOP, backed.key))
    plain[len(plain) * 3 // 4] ^= 0xFF
    replace_dump(run_dir, SHOP, bytes(plain), backed.key)

    result = verify(site, url, restore_url)

    assert result.code == 1, result.stdout
    assert len(result.failures) == 1
    assert result.failures[0].startswith("Failure: decrypt_file acme ")


def test_an_archive_missing_entries_fails_on_the_recorded_counts(backed, tmp_path):
    site, run_dir, url, restore_url = backed.copy(tmp_path)
    # A good archive of the same database, but without one table: it reads perfectly.
    fewer = backed.pg_dump("--exclude-table=customers", conninfo(backed, SHOP))
    replace_archive(run_dir, SHOP, fewer, backed.key)

    result = verify(site, url, restore_url)

    assert result.code == 1, result.stdout
    [failure] = result.failures
    assert "TABLE DATA" in failure
    assert "entries are missing or it is another archive" in failure


def test_an_old_manifest_without_counts_is_read_and_said_to_be_checked_only_for_readability(
    backed, tmp_path
):
    site, run_dir, url, restore_url = backed.copy(tmp_path)
    manifest_path = run_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    for entry in manifest["databases"]:
        for key in ("toc_entries", "table_data_entries", "large_objects", "tables"):
            entry.pop(key)
    manifest_path.write_text(json.dumps(manifest))

    result = verify(site, url, restore_url)

    assert (result.code, result.failures) == (0, []), result.stdout
    assert result.stdout.splitlines()[-1] == (
        "verify acme: 1 run, 3 files checked, 3 decrypted (2 of them only for readability: "
        "their manifests recorded no counts), 0 problems"
    )
