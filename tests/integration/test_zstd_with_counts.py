"""zstd runs meet issue 13 and 15: counts recorded, verify and drill, rekey, all on a zstd run.

The real backup job makes a run with `compression = "zstd:3"` (set explicitly, whatever the
default): its manifest must record the archive's TOC counts (read by the tap on pg_dump's own
output, before zstd) and every table's rows; verify must read each archive whole through
`gpg --decrypt | zstd -d` and hold it to those counts, failing an archive that lost entries or was
cut short even when it was compressed and encrypted again consistently; the drill must restore
and match it; a rekey must re-encrypt its files byte for byte (the zstd stream untouched), keep
`compression`, and leave a run that stock `gpg --decrypt | zstd -d | pg_restore`, as RESTORE.txt
gives it, restores with only the new key. Real PostgreSQL 15, gpg, zstd; a local directory share.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.gpg import KeyPair, PlainKeyring, generate_key_pair
from tests.support.jobs import JobResult, Site, b64
from tests.support.postgres import PostgresServer
from tests.support.stock import bash, commands_for, operator_keyring, set_aside, stock_env
from tests.support.tamper import replace_archive, stored_archive, stored_plaintext
from tests.support.zstd import ZSTD_MAGIC

pytestmark = pytest.mark.integration

COMPRESSION = "zstd:3"
QUERY = (
    "SELECT (SELECT count(*) FROM orders), (SELECT md5(string_agg(note, ',' ORDER BY id)) "
    "FROM orders), (SELECT count(*) FROM customers), (SELECT count(*) FROM empty_one)"
)


class ZstdRun:
    """One site with one published zstd run of `shop_<tag>`: three tables, 20,000 rows."""

    def __init__(self, root: Path, server: PostgresServer, key: KeyPair) -> None:
        self.server, self.key, self.root = server, key, root
        self.tag = secrets.token_hex(3)
        self.shop = f"shop_{self.tag}"
        self.role, self.password = f"zcount_{self.tag}", "pw-" + secrets.token_urlsafe(16)
        server.create_role(self.role, self.password, "pg_read_all_data")
        server.create_database(self.shop)
        server.execute(
            "CREATE TABLE orders AS SELECT g AS id, md5(g::text) AS note "
            "FROM generate_series(1, 20000) g;"
            "CREATE TABLE customers AS SELECT g AS id FROM generate_series(1, 56) g;"
            "CREATE TABLE empty_one (id int)",
            dbname=self.shop,
        )
        self.site = self.make_site(root / "site")
        self.url, self.restore_url = self.configs(self.site, key)
        result = self.site.run("backup", "acme", "6", self.url, "-", "-")
        assert result.code == 0, result.stdout + result.stderr
        self.run_dir = next(p for p in self.site.share.glob("end-*/*/*") if p.is_dir())

    @staticmethod
    def make_site(root: Path) -> Site:
        site = Site(root)
        site.settings = {"backup": {"compression": COMPRESSION}}
        site.write_master_config()
        return site

    def configs(self, site: Site, key: KeyPair, *restore_keys: KeyPair) -> tuple[str, str]:
        """Write the backup config (public key `key`) and a restore config; return their URLs."""
        with self.server.connect() as conn:
            names = [str(r[0]) for r in conn.execute("SELECT datname FROM pg_database").fetchall()]
        url = site.write_client_config(
            f"acme-{key.fingerprint[-8:]}",
            {
                "client-name": "acme",
                "postgresql-host": self.server.host,
                "postgresql-port": str(self.server.port),
                "postgresql-auth": "password",
                "postgresql-user": self.role,
                "postgresql-secret": self.password,
                "postgresql-sslmode": "disable",
                "key-name": key.fingerprint,
                "public-key": b64(key.public_armored),
                "exclude-databases": ",".join(n for n in names if n != self.shop and "," not in n),
                "storage-unc": f"file://{site.share}",
                "end-of-month-retention": "400",
                "end-of-year-retention": "3650",
            },
        )
        secrets_of = restore_keys or (key,)
        restore_url = site.write_client_config(
            f"restore-{len(secrets_of)}",
            {
                "private-key": b64(b"".join(k.secret_armored for k in secrets_of)),
                "private-key-passphrase": "",
                "backup-config-host": url,
            },
        )
        return url, restore_url

    def copy(self, root: Path) -> tuple[Site, Path]:
        """Return a site holding a copy of the run, and the copied run's directory."""
        site = self.make_site(root)
        shutil.copytree(self.site.share, site.share, dirs_exist_ok=True)
        return site, site.share / self.run_dir.relative_to(self.site.share)

    def job(self, site: Site, job: str, url: str, restore_url: str, *args: str) -> JobResult:
        return site.run(job, "acme", url, "-", "-", "--restore-vault", restore_url, *args)

    def record(self, run_dir: Path) -> dict[str, object]:
        manifest = json.loads((run_dir / "manifest.json").read_text())
        record: dict[str, object] = next(d for d in manifest["databases"] if d["name"] == self.shop)
        return record

    def query(self, database: str) -> tuple[object, ...]:
        with self.server.connect(database) as conn:
            row = conn.execute(QUERY).fetchone()
        assert row is not None
        return tuple(row)

    def pg_restore(self, *args: str, data: bytes) -> str:
        return subprocess.run(
            [str(self.server.bin_dir / "pg_restore"), *args],
            input=data,
            capture_output=True,
            check=True,
        ).stdout.decode()

    def pg_dump(self, *args: str) -> bytes:
        server = self.server
        return subprocess.run(
            [
                str(server.bin_dir / "pg_dump"),
                "--format=custom",
                "--compress=0",
                *args,
                f"--dbname=host={server.host} port={server.port} user={server.superuser} "
                f"dbname={self.shop}",
            ],
            env={"PGPASSWORD": server.password, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            check=True,
        ).stdout


@pytest.fixture(scope="module")
def zrun(tmp_path_factory, postgres_server) -> ZstdRun:
    key = generate_key_pair(tmp_path_factory.mktemp("keys"), "acme", "acme@zstd.test", None)
    return ZstdRun(tmp_path_factory.mktemp("zstd-counts"), postgres_server, key)


def toc_entries(listing: str) -> int:
    """Return the `TOC Entries: N` of a `pg_restore --list` header."""
    line = next(line for line in listing.splitlines() if "TOC Entries:" in line)
    return int(line.split(":")[1])


# ---------------------------------------------------------------------- what the run recorded


def test_a_zstd_backup_records_the_archives_toc_counts_and_every_tables_rows(zrun):
    record = zrun.record(zrun.run_dir)
    assert record["file"] == f"{zrun.shop}.dump.zst.gpg"
    assert record["compression"] == COMPRESSION
    assert stored_plaintext(zrun.run_dir, zrun.shop, zrun.key).startswith(ZSTD_MAGIC)

    # What the stock tools find in the stored file is what the manifest recorded of it.
    archive = stored_archive(zrun.run_dir, zrun.shop, zrun.key)
    assert archive.startswith(b"PGDMP")
    listing = zrun.pg_restore("--list", data=archive)
    assert record["toc_entries"] == toc_entries(listing)
    assert record["table_data_entries"] == listing.count(" TABLE DATA ") == 3
    assert record["tables"] == [
        {"schema": "public", "table": "customers", "rows": 56},
        {"schema": "public", "table": "empty_one", "rows": 0},
        {"schema": "public", "table": "orders", "rows": 20000},
    ]
    assert record["large_objects"] == 0


# ---------------------------------------------------------------------- verify


def test_verify_reads_the_zstd_archive_whole_and_holds_it_to_its_counts(zrun):
    result = zrun.job(zrun.site, "verify", zrun.url, zrun.restore_url)

    assert (result.code, result.failures) == (0, []), result.stdout + result.stderr
    # Counted, not "only for readability": the archive was held against the manifest.
    assert result.stdout.splitlines()[-1] == (
        "verify acme: 1 run, 2 files checked, 2 decrypted, 0 problems"
    )
    logs = zrun.site.logs()
    assert "--decrypt --output - | zstd -d -q -c" in logs
    assert "pg_restore --list) | " in logs
    assert "pg_restore --file=/dev/null" in logs


def test_verify_fails_a_zstd_archive_that_lost_entries_though_it_reads_perfectly(zrun, tmp_path):
    site, run_dir = zrun.copy(tmp_path)
    url, restore_url = zrun.configs(site, zrun.key)
    # A good archive of the same database without one table, compressed and encrypted again,
    # with the manifest's size and sha256 made to match: only the counts can tell.
    replace_archive(run_dir, zrun.shop, zrun.pg_dump("--exclude-table=customers"), zrun.key)

    result = zrun.job(site, "verify", url, restore_url)

    assert result.code == 1, result.stdout + result.stderr
    [failure] = result.failures
    assert failure.startswith(f"Failure: decrypt_file acme {run_dir.relative_to(site.share)}/")
    assert "2 of them TABLE DATA; when it was made it held" in failure
    assert "3 of them TABLE DATA: entries are missing or it is another archive" in failure


def test_verify_fails_a_zstd_archive_cut_short_and_compressed_again(zrun, tmp_path):
    site, run_dir = zrun.copy(tmp_path)
    url, restore_url = zrun.configs(site, zrun.key)
    archive = stored_archive(run_dir, zrun.shop, zrun.key)
    # A valid zstd frame around an archive that stops three quarters of the way.
    replace_archive(run_dir, zrun.shop, archive[: len(archive) * 3 // 4], zrun.key)

    result = zrun.job(site, "verify", url, restore_url)

    assert result.code == 1, result.stdout + result.stderr
    [failure] = result.failures
    assert failure.startswith("Failure: decrypt_file acme ")
    assert "pg_restore failed" in failure


# ---------------------------------------------------------------------- drill


def test_a_drill_of_the_zstd_run_restores_and_matches_every_table(zrun):
    server = zrun.server
    result = zrun.site.run(
        "drill", "acme", zrun.url, "-", "-", "--restore-vault", zrun.restore_url,
        "--target-host", server.host, "--target-port", str(server.port),
        "--target-user", server.superuser,
        env={"PGPASSWORD": server.password},
    )  # fmt: skip

    assert (result.code, result.failures) == (0, []), result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].endswith(
        ": 1 of 1 databases restored and matched, 3 tables compared, 0 mismatches, 0 failures"
    )
    [line] = [json.loads(x) for x in (zrun.site.share / "drills.jsonl").read_text().splitlines()]
    assert (line["database"], line["result"], line["counts_recorded"]) == (zrun.shop, "ok", True)
    with server.connect() as conn:
        left = conn.execute("SELECT count(*) FROM pg_database WHERE datname LIKE 'lts_drill_%'")
        assert left.fetchone() == (0,)
    assert [p for p in (zrun.site.root / "work").rglob("*") if p.is_file()] == []


# ---------------------------------------------------------------------- rekey


def test_a_rekeyed_zstd_run_restores_with_only_the_new_key_through_stock_commands(
    zrun, tmp_path_factory
):
    # Short paths: gpg-agent's socket lives in GNUPGHOME, and a socket path has 107 bytes at most.
    tmp_path = tmp_path_factory.mktemp("zrekey")
    site, run_dir = zrun.copy(tmp_path / "site")
    new = generate_key_pair(tmp_path / "key", "acme", "acme-2031@zstd.test", None)
    url, restore_url = zrun.configs(site, new, zrun.key, new)
    names = [str(zrun.record(run_dir)["file"]), "globals.sql.zst.gpg"]
    old_keyring = PlainKeyring(zrun.key, tmp_path)
    try:
        before = {name: old_keyring.decrypt(run_dir / name) for name in names}
    finally:
        old_keyring.close()

    rekeyed = zrun.job(site, "rekey", url, restore_url, "--run", "all")

    assert (rekeyed.code, rekeyed.failures) == (0, []), rekeyed.stdout + rekeyed.stderr
    tag = new.fingerprint[-16:]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["key_fingerprint"] == new.fingerprint
    assert manifest["compression"] == COMPRESSION
    records = [manifest["globals"], *manifest["databases"]]
    assert sorted((r["file"], r["compression"]) for r in records) == sorted(
        [
            (f"{zrun.shop}.dump.zst.{tag}.gpg", COMPRESSION),
            (f"globals.sql.zst.{tag}.gpg", COMPRESSION),
        ]
    )
    assert sorted(p.name for p in run_dir.glob("*.gpg")) == sorted(r["file"] for r in records)
    # Only the OpenPGP layer changed: the zstd streams are the same bytes, and hold the counts.
    new_keyring = PlainKeyring(new, tmp_path)
    try:
        for old_name, plaintext in before.items():
            new_name = old_name.replace(".zst.gpg", f".zst.{tag}.gpg")
            again = new_keyring.decrypt(run_dir / new_name)
            assert again.startswith(ZSTD_MAGIC)
            assert hashlib.sha256(again).hexdigest() == hashlib.sha256(plaintext).hexdigest()
    finally:
        new_keyring.close()
    assert zrun.record(run_dir)["toc_entries"] == zrun.record(zrun.run_dir)["toc_entries"]
    assert zrun.record(run_dir)["tables"] == zrun.record(zrun.run_dir)["tables"]

    # The operator of ten years from now: the new private key only, stock gpg, zstd, pg_restore,
    # and the command RESTORE.txt gives for the database, as written.
    [command] = commands_for((run_dir / "RESTORE.txt").read_text(), zrun.shop)
    assert command == (
        f"gpg --decrypt {zrun.shop}.dump.zst.{tag}.gpg | zstd -d | "
        "pg_restore --create --dbname=postgres"
    )
    expected = zrun.query(zrun.shop)
    with (
        operator_keyring(tmp_path, new.secret_armored) as gnupg,
        set_aside(zrun.server, zrun.shop, f"aside_{secrets.token_hex(4)}"),
    ):
        done = bash(command, stock_env(zrun.server, gnupg), run_dir)
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        assert zrun.query(zrun.shop) == expected
