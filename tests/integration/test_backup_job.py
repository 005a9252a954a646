"""The backup job end to end, as the scheduler runs it, against real PostgreSQL and gpg.

A real PostgreSQL 15 server with scram password auth over TCP (so a job that forgets the password
fails), the real gpg binary, a local directory as the share, a file:// client config.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from psycopg import sql

from tests.support.gpg import KeyPair, decrypt, generate_key_pair
from tests.support.jobs import Site, b64
from tests.support.postgres import PostgresServer
from tests.support.zstd import unzstd

pytestmark = pytest.mark.integration

TRICKY = ['sales "eu"', "données clients", "it's-here"]


def period_now(eoy_month: int) -> str:
    now = datetime.now(UTC)
    if now.month == eoy_month:
        return f"end-of-year/FY{now.year}"
    return f"end-of-month/{now.year}-{now.month:02d}"


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return generate_key_pair(tmp_path_factory.mktemp("keys"), "acme", "acme@backup.test", "pass-1")


@pytest.fixture(scope="module")
def cluster(postgres_server: PostgresServer) -> dict[str, object]:
    """Databases of one client, a backup role, and one database the role cannot connect to."""
    tag = secrets.token_hex(3)
    role, password = f"backup_{tag}", "pw-" + secrets.token_urlsafe(20)
    postgres_server.create_role(role, password, "pg_read_all_data")
    names = [f"{name} {tag}" for name in TRICKY] + [f"big_{tag}", f"skip_{tag}", f"locked_{tag}"]
    for name in names:
        postgres_server.create_database(name)
        postgres_server.execute(
            "CREATE TABLE items (id int PRIMARY KEY, label text, price numeric);"
            "INSERT INTO items SELECT g, 'item ' || g || ' é', g * 1.5 "
            "FROM generate_series(1, 2000) g;",
            dbname=name,
        )
    postgres_server.execute(
        "INSERT INTO items SELECT g, repeat('x', 200), g FROM generate_series(2001, 40000) g",
        dbname=f"big_{tag}",
    )
    postgres_server.execute(
        sql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(sql.Identifier(f"locked_{tag}"))
    )
    return {"tag": tag, "role": role, "password": password, "names": names}


def client_values(
    server: PostgresServer, cluster: dict[str, object], key: KeyPair, share: Path, exclude: str
) -> dict[str, str]:
    return {
        "client-name": "acme",
        "postgresql-host": server.host,
        "postgresql-port": str(server.port),
        "postgresql-auth": "password",
        "postgresql-user": str(cluster["role"]),
        "postgresql-secret": str(cluster["password"]),
        "postgresql-sslmode": "disable",
        "key-name": "acme",
        "public-key": b64(key.public_armored),
        "exclude-databases": exclude,
        "storage-unc": f"file://{share}",
        "end-of-month-retention": "400",
        "end-of-year-retention": "3650",
    }


def other_databases(server: PostgresServer, cluster: dict[str, object]) -> str:
    """Exclude every database on the shared server that is not this client's."""
    with server.connect() as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE NOT datistemplate").fetchall()
    mine = set(cluster["names"])  # type: ignore[call-overload]
    return ",".join(str(r[0]) for r in rows if r[0] not in mine and "," not in str(r[0]))


def spy_bin_dir(root: Path, server: PostgresServer) -> Path:
    """A pg_bin_dir whose pg_dump records its argv and its parent's (the job's) environment."""
    spy = root / "spy-bin"
    spy.mkdir()
    real = server.bin_dir
    (spy / "pg_dump").write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" >> "{root}/pg_dump.argv"\n'
        f'cat /proc/$PPID/environ >> "{root}/job.environ" 2>/dev/null\n'
        f'exec "{real}/pg_dump" "$@"\n'
    )
    (spy / "pg_dump").chmod(0o755)
    (spy / "pg_dumpall").symlink_to(real / "pg_dumpall")
    (spy / "pg_restore").symlink_to(real / "pg_restore")
    return spy


@pytest.fixture(scope="module")
def backup_run(tmp_path_factory, postgres_server, cluster, key_pair):
    """One backup run where the locked database fails and everything else is stored."""
    root = tmp_path_factory.mktemp("site")
    site = Site(root)
    site.settings = {"backup": {"pg_bin_dir": str(spy_bin_dir(root, postgres_server))}}
    site.write_master_config()
    exclude = other_databases(postgres_server, cluster) + f",skip_{cluster['tag']}"
    url = site.write_client_config(
        "acme", client_values(postgres_server, cluster, key_pair, site.share, exclude)
    )
    result = site.run("backup", "acme", "6", url, "-", "-")
    return site, result


def published_run(share: Path, period: str) -> Path:
    runs = [p for p in (share / period).iterdir() if not p.name.endswith(".partial")]
    assert len(runs) == 1, runs
    return runs[0]


def test_the_locked_database_is_exactly_one_failure_line_and_exit_one(backup_run, cluster):
    _site, result = backup_run
    assert result.code == 1, result.stdout + result.stderr
    assert result.failures == [
        f"Failure: dump_database acme 127.0.0.1 locked_{cluster['tag']} "
        + result.failures[0].split(f"locked_{cluster['tag']} ", 1)[1]
    ]
    assert "permission denied" in result.failures[0]
    assert result.stderr == ""


def test_every_other_database_is_stored_and_marked_ok_in_the_manifest(backup_run, cluster):
    site, _ = backup_run
    run = published_run(site.share, period_now(6))
    manifest = json.loads((run / "manifest.json").read_text())
    statuses = {d["name"]: d["status"] for d in manifest["databases"]}
    tag = cluster["tag"]
    assert statuses == {
        **{f"{name} {tag}": "ok" for name in TRICKY},
        f"big_{tag}": "ok",
        f"locked_{tag}": "failed",
    }
    assert manifest["databases"][0]["name"] == f"big_{tag}", "largest first"
    for entry in manifest["databases"]:
        if entry["status"] == "ok":
            stored = run / entry["file"]
            assert stored.stat().st_size == entry["bytes"]
            assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert manifest["server_version"].startswith("15")
    assert manifest["key_fingerprint"]
    assert manifest["archive_format"] == "custom"


def test_sha256sums_checks_with_the_standard_tool(backup_run):
    site, _ = backup_run
    run = published_run(site.share, period_now(6))
    checked = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=run, capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert (run / "RESTORE.txt").read_text().startswith("Restoring this backup run")


def test_plain_gpg_and_pg_restore_get_identical_data_back(
    backup_run, cluster, key_pair, postgres_server, tmp_path
):
    site, _ = backup_run
    run = published_run(site.share, period_now(6))
    manifest = json.loads((run / "manifest.json").read_text())
    for entry in manifest["databases"]:
        if entry["status"] != "ok":
            continue
        dump = tmp_path / "db.dump"
        assert entry["file"].endswith(".dump.zst.gpg")
        dump.write_bytes(unzstd(decrypt(key_pair, run / entry["file"])))
        target = f"restored_{secrets.token_hex(4)}"
        postgres_server.create_database(target)
        env = {**os.environ, "PGPASSWORD": postgres_server.password}
        restored = subprocess.run(
            [
                str(postgres_server.bin_dir / "pg_restore"),
                "-h",
                postgres_server.host,
                "-p",
                str(postgres_server.port),
                "-U",
                postgres_server.superuser,
                "-d",
                target,
                "--no-owner",
                str(dump),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert restored.returncode == 0, restored.stderr
        query = "SELECT count(*), sum(price), md5(string_agg(label, ',' ORDER BY id)) FROM items"
        with postgres_server.connect(entry["name"]) as source_conn:
            expected = source_conn.execute(query).fetchone()
        with postgres_server.connect(target) as restored_conn:
            assert restored_conn.execute(query).fetchone() == expected


def test_globals_are_stored_without_role_passwords(backup_run, cluster, key_pair):
    site, _ = backup_run
    run = published_run(site.share, period_now(6))
    globals_sql = unzstd(decrypt(key_pair, run / "globals.sql.zst.gpg")).decode()
    assert f"CREATE ROLE {cluster['role']}" in globals_sql
    assert "SCRAM-SHA-256" not in globals_sql


def test_excluded_databases_are_not_dumped(backup_run, cluster):
    site, _ = backup_run
    run = published_run(site.share, period_now(6))
    assert not list(run.glob(f"skip_{cluster['tag']}*"))


def test_no_partial_debris_and_no_share_lock_remain(backup_run):
    site, _ = backup_run
    assert not list(site.share.rglob("*.partial"))
    assert not (site.share / ".lts-lock.json").exists()


def test_the_password_is_not_in_logs_stdout_argv_or_the_jobs_environment(backup_run, cluster):
    site, result = backup_run
    password = str(cluster["password"])
    argv = (site.root / "pg_dump.argv").read_text()
    environ = (site.root / "job.environ").read_bytes()
    assert argv, "the spy pg_dump ran"
    assert environ, "the job's environment was captured"
    logs = site.logs()
    assert "dump_database" in logs
    for text in (logs, result.stdout, result.stderr, argv):
        assert password not in text
    assert password.encode() not in environ
    assert b"PGPASSWORD" not in environ


def test_the_log_has_a_start_line_and_every_node(backup_run):
    site, _ = backup_run
    log = (site.root / "logs" / "acme" / "backup.log").read_text()
    assert "*" * 20 in log
    assert "start BackupClientMachine.publish_run" in log


def test_a_clean_run_in_the_eoy_month_exits_zero_under_its_fiscal_year(
    tmp_path, postgres_server, cluster, key_pair
):
    site = Site(tmp_path)
    exclude = other_databases(postgres_server, cluster) + f",locked_{cluster['tag']}"
    url = site.write_client_config(
        "acme", client_values(postgres_server, cluster, key_pair, site.share, exclude)
    )
    month = datetime.now(UTC).month
    result = site.run("backup", "acme", str(month), url, "-", "-")
    assert (result.code, result.failures) == (0, []), result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].startswith("backup acme: 5 of 5 databases ok")
    assert published_run(site.share, f"end-of-year/FY{datetime.now(UTC).year}")


def killing_bin_dir(root: Path, server: PostgresServer) -> Path:
    """A pg_bin_dir whose pg_dump streams part of a real dump and is then killed by SIGKILL."""
    bin_dir = root / "killing-bin"
    bin_dir.mkdir()
    real = server.bin_dir
    (bin_dir / "pg_dump").write_text(
        "#!/bin/bash\n"
        f'if [ "$1" = "--version" ] || [ "$1" = "-V" ]; then exec "{real}/pg_dump" "$@"; fi\n'
        f'case "$*" in *--help*) exec "{real}/pg_dump" "$@";; esac\n'
        f'"{real}/pg_dump" "$@" | head -c 2048\n'
        "kill -KILL $$\n"
    )
    (bin_dir / "pg_dump").chmod(0o755)
    (bin_dir / "pg_dumpall").symlink_to(real / "pg_dumpall")
    (bin_dir / "pg_restore").symlink_to(real / "pg_restore")
    return bin_dir


def test_a_pg_dump_killed_mid_stream_leaves_no_published_file(
    tmp_path, postgres_server, cluster, key_pair
):
    site = Site(tmp_path)
    site.settings = {"backup": {"pg_bin_dir": str(killing_bin_dir(tmp_path, postgres_server))}}
    site.write_master_config()
    exclude = other_databases(postgres_server, cluster) + f",locked_{cluster['tag']}"
    url = site.write_client_config(
        "acme", client_values(postgres_server, cluster, key_pair, site.share, exclude)
    )
    result = site.run("backup", "acme", "6", url, "-", "-")
    assert result.code == 5, result.stdout
    assert all("killed by signal SIGKILL" in line for line in result.failures), result.failures
    run = published_run(site.share, period_now(6))
    assert sorted(p.name for p in run.iterdir()) == [
        "RESTORE.txt",
        "SHA256SUMS",
        "globals.sql.zst.gpg",
        "manifest.json",
    ]
    assert not list(site.share.rglob("*.partial"))


def test_a_pg_dump_older_than_the_server_is_refused_before_any_dump(
    tmp_path, postgres_server, cluster, key_pair
):
    old = tmp_path / "old-bin"
    old.mkdir()
    (old / "pg_dump").write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n")
    (old / "pg_dump").chmod(0o755)
    site = Site(tmp_path)
    site.settings = {"backup": {"pg_bin_dir": str(old)}}
    site.write_master_config()
    url = site.write_client_config(
        "acme", client_values(postgres_server, cluster, key_pair, site.share, "")
    )
    result = site.run("backup", "acme", "6", url, "-", "-")
    assert result.code == 1
    assert len(result.failures) == 1
    assert result.failures[0].startswith("Failure: inspect_server acme 127.0.0.1 pg_dump 9.6")
    assert "older than the server" in result.failures[0]
    assert not any(p.is_file() for p in site.share.rglob("*"))
