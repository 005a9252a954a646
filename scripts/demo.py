"""Run the backup job end to end on embedded defaults and prove the backup restores.

`python scripts/demo.py [--work DIR]` (or `scripts/demo`, which sets up the environment first):
starts an embedded PostgreSQL (pgserver) with sample databases and a password-only backup role,
generates a Fernet key and an OpenPGP key pair, writes a master config and a file:// client
config, runs `python -m entrypoints.backup` exactly as the scheduler would, prints the stored
run, then decrypts one dump with plain gpg (and `zstd -d`, for the default zstd compression),
restores it with pg_restore into a new database and compares the data with the source. Exits 0
only when the backup succeeded and the data matches.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import psycopg
from psycopg import sql

REPO = Path(__file__).resolve().parent.parent
SAMPLE_DATABASES = {
    "shop": 50_000,
    "hr": 2_000,
    'analytics "eu"': 10_000,
    "données": 1_000,
}
COMPARE = "SELECT count(*), sum(amount), md5(string_agg(label, ',' ORDER BY id)) FROM items"


def say(text: str) -> None:
    """Print a demo step."""
    print(f"\n== {text}", flush=True)


class EmbeddedServer(Protocol):
    """What the demo uses of a pgserver server."""

    pgdata: Path

    def get_uri(self, database: str | None = None) -> str:
        """Return a connection URI over the server's socket."""
        ...


def run(
    argv: list[str], *, input: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command, failing loudly."""
    return subprocess.run(argv, check=True, text=True, capture_output=True, input=input, cwd=cwd)


def start_server(work: Path) -> EmbeddedServer:
    """Start pgserver in `work/pgdata` and return it."""
    from pgserver import postgres_server  # the demo extra: an embedded PostgreSQL

    server: EmbeddedServer = postgres_server.get_server(work / "pgdata", cleanup_mode="stop")
    return server


def seed(server: EmbeddedServer, password: str) -> tuple[str, str]:
    """Create the sample databases and a backup role; return (socket dir, role)."""
    uri = server.get_uri()
    role = "lts_backup"
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE pg_read_all_data").format(
                sql.Identifier(role), sql.Literal(password)
            )
        )
        for name, rows in SAMPLE_DATABASES.items():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            with psycopg.connect(uri, dbname=name, autocommit=True) as db:
                db.execute(
                    "CREATE TABLE items (id int PRIMARY KEY, label text, amount numeric(12,2))"
                )
                db.execute(
                    "INSERT INTO items SELECT g, 'item ' || g || ' · ' || md5(g::text), g * 0.25 "
                    "FROM generate_series(1, %s) g",
                    (rows,),
                )
        socket_dir = conn.execute("SHOW unix_socket_directories").fetchone()
    # From now on the server demands the password: a job that forgot it would fail.
    hba = Path(server.pgdata) / "pg_hba.conf"
    hba.write_text(
        "local all postgres trust\nlocal all all scram-sha-256\nhost all all 127.0.0.1/32 "
        "scram-sha-256\n"
    )
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("SELECT pg_reload_conf()")
    return str(socket_dir[0]).split(",")[0].strip() if socket_dir else "", role


def generate_key_pair(home: Path, passphrase: str) -> tuple[bytes, str]:
    """Generate the client's key pair in `home`; return (armoured public key, fingerprint)."""
    home.mkdir(mode=0o700)
    gpg = ["gpg", "--homedir", str(home), "--batch", "--pinentry-mode", "loopback"]
    run(
        [
            *gpg,
            "--passphrase-fd",
            "0",
            "--quick-generate-key",
            "acme <acme@backup.example>",
            "future-default",
            "default",
            "never",
        ],
        input=passphrase,
    )
    public = run([*gpg, "--armor", "--export", "acme@backup.example"]).stdout.encode()
    listing = run([*gpg, "--with-colons", "--list-keys", "acme@backup.example"]).stdout
    fingerprint = next(
        line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:")
    )
    return public, fingerprint


def write_configs(work: Path, socket_dir: str, role: str, password: str, public: bytes) -> str:
    """Write the master config and the client config; return the client config URL."""
    pg_bin = Path(sys.modules["pgserver"].__file__ or "").parent / "pginstall" / "bin"
    (work / "config.toml").write_text(
        "[paths]\n"
        f'log_root = "{work / "logs"}"\nlock_root = "{work / "locks"}"\n'
        f'work_root = "{work / "tmp"}"\nmount_root = "{work / "mnt"}"\n'
        f'[secrets]\nkey_file = "{work / "fernet.key"}"\n'
        f'[backup]\nworker_pool_size = 2\npg_bin_dir = "{pg_bin}"\n'
    )
    client = {
        "client-name": "acme",
        "postgresql-host": socket_dir,
        "postgresql-port": "5432",
        "postgresql-auth": "password",
        "postgresql-user": role,
        "postgresql-secret": password,
        "key-name": "acme",
        "public-key": base64.b64encode(public).decode(),
        "exclude-databases": "",
        "storage-unc": f"file://{work / 'share'}",
        "end-of-month-retention": "400",
        "end-of-year-retention": "3650",
    }
    path = work / "acme.toml"
    path.write_text("".join(f"{key} = {json.dumps(value)}\n" for key, value in client.items()))
    path.chmod(0o600)
    return f"file://{path}"


def job_env(work: Path) -> dict[str, str]:
    """Return the scheduler's environment for the job: only LTS_CONFIG is ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LTS_")}
    env["LTS_CONFIG"] = str(work / "config.toml")
    return env


def show_run(share: Path) -> Path:
    """Print the share's tree and the manifest summary; return the run directory."""
    for path in sorted(share.rglob("*")):
        depth = len(path.relative_to(share).parts) - 1
        size = f"  {path.stat().st_size:>10,} bytes" if path.is_file() else "/"
        print(f"  {'  ' * depth}{path.name}{size}")
    manifest_path = next(share.rglob("manifest.json"))
    manifest = json.loads(manifest_path.read_text())
    print(
        f"\n  run {manifest['run_id']}: {manifest['tier']} {manifest['period']}, "
        f"pg_dump {manifest['pg_dump_version']}, key {manifest['key_fingerprint'][-16:]}"
    )
    for entry in manifest["databases"]:
        print(
            f"    {entry['name']:<20} {entry['status']:<6} {entry['bytes']:>10,} bytes  "
            f"{entry['file']}"
        )
    return manifest_path.parent


def restore_and_compare(server: EmbeddedServer, run_dir: Path, home: Path, passphrase: str) -> bool:
    """Decrypt shop's dump with plain gpg, restore it with pg_restore, compare with the source."""
    pg_bin = Path(sys.modules["pgserver"].__file__ or "").parent / "pginstall" / "bin"
    plain = run_dir.parent.parent.parent.parent / "shop.dump"
    manifest = json.loads((run_dir / "manifest.json").read_text())
    stored = next(entry["file"] for entry in manifest["databases"] if entry["name"] == "shop")
    gpg = shlex.join(
        [
            "gpg",
            "--homedir",
            str(home),
            "--batch",
            "--pinentry-mode",
            "loopback",
            "--passphrase-fd",
            "0",
            "--decrypt",
            str(run_dir / stored),
        ]
    )
    # A `.zst.gpg` file holds a zstd stream around the archive (RESTORE.txt says the same).
    unzstd = " | zstd -d -q" if stored.endswith(".zst.gpg") else ""
    run(
        ["bash", "-o", "pipefail", "-c", f"{gpg}{unzstd} > {shlex.quote(str(plain))}"],
        input=passphrase,
    )
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS shop_restored")
        conn.execute("CREATE DATABASE shop_restored")
    socket = server.get_uri("shop_restored")
    run([str(pg_bin / "pg_restore"), "--no-owner", "--jobs", "2", "--dbname", socket, str(plain)])
    plain.unlink()
    with (
        psycopg.connect(server.get_uri(), dbname="shop") as source,
        psycopg.connect(socket) as copy,
    ):
        expected = source.execute(COMPARE).fetchone()
        restored = copy.execute(COMPARE).fetchone()
    print(f"  source:   {expected}\n  restored: {restored}")
    return expected == restored


def main(argv: Sequence[str] | None = None) -> None:
    """Run the demo."""
    parser = argparse.ArgumentParser(prog="demo", description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=REPO / "demo-work")
    args = parser.parse_args(argv)
    work: Path = args.work.resolve()
    if work.exists():
        subprocess.run(["pkill", "-f", str(work / "pgdata")], check=False)
        shutil.rmtree(work)
    work.mkdir(parents=True)
    (work / "share").mkdir()

    say(f"embedded PostgreSQL in {work / 'pgdata'} with sample databases")
    server = start_server(work)
    password = "demo-" + secrets.token_urlsafe(16)
    socket_dir, role = seed(server, password)
    print(f"  databases: {', '.join(SAMPLE_DATABASES)}; backup role {role} (password auth)")

    say("Fernet key, OpenPGP key pair, master config, client config")
    run([sys.executable, "-m", "entrypoints.generate_key", str(work / "fernet.key")], cwd=REPO)
    passphrase = secrets.token_urlsafe(16)
    public, fingerprint = generate_key_pair(work / "operator-gnupg", passphrase)
    url = write_configs(work, socket_dir, role, password, public)
    print(f"  key acme {fingerprint}\n  client config {url}")

    eoy_month = (datetime.now(UTC).month % 12) + 1  # next month ends the fiscal year
    command = [sys.executable, "-m", "entrypoints.backup", "acme", str(eoy_month), url, "-", "-"]
    say("backup job, as the scheduler runs it: " + " ".join(["python", *command[1:]]))
    job = subprocess.run(
        command,
        cwd=REPO,
        env=job_env(work),
        text=True,
        capture_output=True,
        check=False,
    )
    print(job.stdout + job.stderr, end="")
    print(f"  exit code {job.returncode}")

    say(f"the share {work / 'share'}")
    run_dir = show_run(work / "share")

    say("decrypt shop's dump with plain gpg and zstd, restore it with pg_restore --jobs 2")
    try:
        same = restore_and_compare(server, run_dir, work / "operator-gnupg", passphrase)
    finally:
        # The operator's gpg started an agent for the private key; do not leave it running.
        subprocess.run(
            [
                "gpgconf",
                "--homedir",
                str(work / "operator-gnupg"),
                "--kill",
                "all",
            ],
            check=False,
        )
    say("restored data is identical to the source" if same else "RESTORED DATA DIFFERS")
    print(f"  logs: {work / 'logs' / 'acme' / 'backup.log'}")
    raise SystemExit(0 if job.returncode == 0 and same else 1)


if __name__ == "__main__":
    main()
