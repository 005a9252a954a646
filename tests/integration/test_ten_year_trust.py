"""Signed runs, audit chains, several private keys and the rekey job, end to end (SPEC 14).

The jobs run as the scheduler runs them (`python -m entrypoints.<job>`), on a real PostgreSQL 15
server, the real gpg and a local directory share with file:// configs. The story: create_client
--signing makes the operator's signing key and the client's key pair; two signed backups; verify
passes them and fails a run whose dump was replaced by another valid one (with SHA256SUMS and the
manifest made consistent); verify --logs finds a broken line in retention.log; the client's key
is rotated, rekey --run all moves every run to the new key, and plain gpg with only the new
private key gives back every file's plaintext, byte for byte.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import stat
import subprocess
import time
import tomllib
from pathlib import Path

import pytest
from psycopg import sql

from tests.support.gpg import GpgHelperError, KeyPair, decrypt, generate_key_pair
from tests.support.jobs import JobResult, Site, b64
from tests.support.postgres import PostgresServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

QUERY = "SELECT count(*), md5(string_agg(label, ',' ORDER BY id)) FROM items"
NEW_PASSPHRASE = "new-key-" + secrets.token_urlsafe(12)


class Trust:
    """An onboarded, signing site with two runs of two databases."""

    def __init__(self, root: Path, server: PostgresServer) -> None:
        self.root, self.server = root, server
        self.tag = secrets.token_hex(3)
        self.role, self.password = f"trust_{self.tag}", "pw-" + secrets.token_urlsafe(20)
        server.create_role(self.role, self.password, "pg_read_all_data")
        server.execute(sql.SQL("ALTER ROLE {} CREATEDB").format(sql.Identifier(self.role)))
        self.shop, self.hr = f"shop_{self.tag}", f"hr_{self.tag}"
        for name in (self.shop, self.hr):
            server.create_database(name)
            server.execute(
                "CREATE TABLE items (id int PRIMARY KEY, label text);"
                "INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 2000) g;",
                dbname=name,
            )
        self.signing_key = root / "signing" / "signing.asc"
        self.signing_key.parent.mkdir(mode=0o700)
        self.signing_public = root / "signing" / "signing.pub.asc"
        self.site = Site(root)
        self.site.settings = {
            "backup": {"pg_bin_dir": str(server.bin_dir)},
            "signing": {
                "key_file": str(self.signing_key),
                "trusted_keys": [str(self.signing_public)],
                "require": True,
            },
        }
        self.site.write_master_config()
        secret_file = root / "pg-secret"
        secret_file.write_text(self.password + "\n")
        secret_file.chmod(0o600)
        self.config_path = root / "configs" / "acme.toml"
        self.restore_path = root / "configs" / "acme-restore.toml"
        self.onboarding = self.create_client(self.config_path, self.restore_path, secret_file)
        assert self.onboarding.code == 0, self.onboarding.stdout + self.onboarding.stderr
        self.url = f"file://{self.config_path}"
        self.restore_url = f"file://{self.restore_path}"
        self.first = self.backup()
        self.first_data = self.query(self.shop)
        server.execute(
            "INSERT INTO items SELECT g, 'later ' || g FROM generate_series(2001, 2300) g",
            dbname=self.shop,
        )
        time.sleep(1.1)  # run ids have a one-second resolution
        self.second = self.backup()

    def create_client(self, config: Path, restore: Path, secret: Path) -> JobResult:
        with self.server.connect() as conn:
            rows = conn.execute("SELECT datname FROM pg_database WHERE NOT datistemplate")
            names = [str(row[0]) for row in rows.fetchall()]
        exclude = ",".join(n for n in names if n not in (self.shop, self.hr) and "," not in n)
        return self.site.run(
            "create_client",
            "acme",
            f"file://{config}",
            "-",
            "-",
            "--restore-vault",
            f"file://{restore}",
            "--signing",
            "--postgresql-host",
            self.server.host,
            "--postgresql-port",
            str(self.server.port),
            "--postgresql-auth",
            "password",
            "--postgresql-user",
            self.role,
            "--postgresql-sslmode",
            "disable",
            "--postgresql-secret-file",
            str(secret),
            "--storage-unc",
            f"file://{self.site.share}",
            "--exclude-databases",
            exclude,
        )

    def backup(self) -> str:
        result = self.site.run("backup", "acme", "6", self.url, "-", "-")
        assert (result.code, result.failures) == (0, []), result.stdout + result.stderr
        return self.runs()[-1].name

    def runs(self, share: Path | None = None) -> list[Path]:
        return sorted(p for p in (share or self.site.share).glob("end-*/*/*") if p.is_dir())

    def query(self, database: str) -> tuple[object, ...]:
        with self.server.connect(database) as conn:
            row = conn.execute(QUERY).fetchone()
        assert row is not None
        return tuple(row)

    def job(
        self,
        job: str,
        *args: str,
        url: str | None = None,
        restore: str | None = None,
        at: str | None = None,
    ) -> JobResult:
        vault = ["--restore-vault", restore] if restore else []
        return self.site.run(job, "acme", url or self.url, "-", "-", *vault, *args, at=at)

    def old_key(self) -> tuple[bytes, str]:
        """Return create_client's secret key and passphrase, from the restore config."""
        values = tomllib.loads(self.restore_path.read_text())
        return base64.b64decode(values["private-key"]), values["private-key-passphrase"]

    def copy(self, name: str, **overrides: str) -> tuple[Path, str]:
        """Copy the share; return the copy and a client config (file:// URL) that uses it."""
        copy = self.root / name
        shutil.copytree(self.site.share, copy)
        values = tomllib.loads(self.config_path.read_text())
        values.update({"storage-unc": f"file://{copy}", **overrides})
        return copy, self.site.write_client_config(name, values)

    def restore_for(self, url: str) -> str:
        """Return a restore config (file:// URL) like the client's, held to the config `url`."""
        values = tomllib.loads(self.restore_path.read_text())
        values["backup-config-host"] = url
        name = url.rsplit("/", 1)[-1].removesuffix(".toml")
        return self.site.write_client_config(f"{name}-restore", values)


@pytest.fixture(scope="module")
def trust(tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer) -> Trust:
    return Trust(tmp_path_factory.mktemp("trust"), postgres_server)


def plain_decrypt(secret: bytes, passphrase: str, path: Path) -> bytes:
    return decrypt(secret, path, passphrase=passphrase)


def plain_verify(public: Path, run: Path, tmp: Path) -> str:
    home = tmp / f"verify-{secrets.token_hex(4)}"
    home.mkdir(mode=0o700)
    env = {"PATH": os.defpath, "HOME": str(home), "GNUPGHOME": str(home)}
    subprocess.run(
        ["gpg", "--batch", "--import", str(public)], env=env, check=True, capture_output=True
    )
    checked = subprocess.run(
        ["gpg", "--batch", "--verify", "manifest.json.asc", "manifest.json"],
        cwd=run,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    shutil.rmtree(home, ignore_errors=True)
    return checked.stderr if checked.returncode == 0 else f"FAILED: {checked.stderr}"


def stored_files(run: Path) -> list[str]:
    manifest = json.loads((run / "manifest.json").read_text())
    records = [manifest["globals"], *manifest["databases"]]
    return [r["file"] for r in records if r and r["status"] == "ok"]


# ---------------------------------------------------------------------- signed runs


def test_create_client_signing_wrote_the_signing_key_0600_and_a_public_key(trust, tmp_path):
    assert stat.S_IMODE(trust.signing_key.stat().st_mode) == 0o600
    assert trust.signing_key.read_bytes().startswith(b"-----BEGIN PGP PRIVATE KEY BLOCK-----")
    assert trust.signing_public.read_bytes().startswith(b"-----BEGIN PGP PUBLIC KEY BLOCK-----")
    assert "wrote signing key" in trust.onboarding.stdout.splitlines()[-1]
    again = trust.create_client(
        tmp_path / "other.toml", tmp_path / "other-restore.toml", trust.root / "pg-secret"
    )
    assert again.code == 1
    assert [line.split(" ")[1] for line in again.failures] == ["generate_signing_key"]
    assert "refusing to overwrite a signing key" in again.failures[0]
    assert not (tmp_path / "other.toml").exists()


def test_every_run_is_signed_and_its_signature_checks_with_plain_gpg(trust, tmp_path):
    for run in trust.runs():
        said = plain_verify(trust.signing_public, run, tmp_path)
        assert "Good signature" in said, said
        manifest = json.loads((run / "manifest.json").read_text())
        assert manifest["signing_fingerprint"]
        assert "gpg --verify manifest.json.asc manifest.json" in (run / "RESTORE.txt").read_text()


def test_verify_passes_untouched_runs_and_fails_a_run_whose_dump_was_replaced(trust):
    copy, url = trust.copy("tampered-share")
    first, second = trust.runs(copy)
    manifest = json.loads((first / "manifest.json").read_text())
    # The manifest names the file (`.dump.zst.gpg` with the default zstd, `.dump.gpg` with gzip).
    dump = next(r["file"] for r in manifest["databases"] if r["name"] == trust.shop)
    # Another valid gpg file (the newer run's dump of the same database), made consistent.
    shutil.copyfile(second / dump, first / dump)
    digest = hashlib.sha256((first / dump).read_bytes()).hexdigest()
    for record in manifest["databases"]:
        if record["file"] == dump:
            record.update(bytes=(first / dump).stat().st_size, sha256=digest)
    (first / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    sums = [
        f"{digest}  {dump}" if line.endswith(f"  {dump}") else line
        for line in (first / "SHA256SUMS").read_text().splitlines()
    ]
    (first / "SHA256SUMS").write_text("\n".join(sums) + "\n")
    assert subprocess.run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=first).returncode == 0

    result = trust.job("verify", "--run", "all", url=url, restore=trust.restore_for(url))

    assert result.code == 1, result.stdout + result.stderr
    [failure] = result.failures
    assert failure.startswith("Failure: check_signature acme end-of-month/")
    assert f"/{first.name} manifest.json does not match its signature manifest.json.asc" in failure
    assert result.stdout.splitlines()[-1] == (
        "verify acme: 2 runs, 6 files checked, 6 decrypted, 1 signed, 0 unsigned, 1 problems"
    )
    clean = trust.job("verify", "--run", "all")
    assert (clean.code, clean.failures) == (0, []), clean.stdout


def test_verify_logs_finds_a_broken_line_in_retention_log(trust):
    copy, url = trust.copy("retention-share", **{"end-of-month-retention": "1"})
    pruned = trust.job("retention", url=url, at="2031-01-15 12:00:00")
    # The newest run is kept past its retention as the last good copy (and reported).
    assert pruned.stdout.splitlines()[-1] == "retention acme: 1 runs deleted, 1 failures"
    log = copy / "retention.log"
    assert len(log.read_text().splitlines()) == 1
    intact = trust.job("verify", "--logs", url=url)
    assert (intact.code, intact.failures) == (0, []), intact.stdout
    assert intact.stdout.splitlines()[-1] == "verify acme: 1 logs checked, 0 problems"

    log.write_text(log.read_text().replace('"event": "deleted"', '"event": "kept"'))
    broken = trust.job("verify", "--logs", url=url)

    assert broken.code == 1
    assert broken.failures == [
        "Failure: check_chain acme retention.log line 1 was changed after it was written "
        "(line_sha256)"
    ]


def test_check_reports_a_signing_key_that_expires_within_ninety_days(trust, tmp_path):
    expiring = generate_key_pair(tmp_path, "lts signing", "s@x.example", None, expire="40d")
    key_file = tmp_path / "expiring.asc"
    key_file.write_bytes(expiring.secret_armored)
    key_file.chmod(0o600)
    result = trust.site.run(
        "check",
        "acme",
        trust.url,
        "-",
        "-",
        env={"LTS_SIGNING__KEY_FILE": str(key_file)},
    )
    assert result.code == 1, result.stdout + result.stderr
    [failure] = result.failures
    assert failure.startswith(
        f"Failure: check_signing_key acme the signing key {expiring.fingerprint}"
    )
    assert "(in 39 days)" in failure or "(in 40 days)" in failure


# ---------------------------------------------------------------------- key rotation


@pytest.fixture(scope="module")
def new_key(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return generate_key_pair(
        tmp_path_factory.mktemp("new-key"), "acme", "acme-2030@backup.test", NEW_PASSPHRASE
    )


def test_rotating_the_key_and_rekeying_every_run_opens_with_only_the_new_key(
    trust, new_key, tmp_path
):
    old_secret, old_passphrase = trust.old_key()
    before = {
        (run.name, name): hashlib.sha256(
            plain_decrypt(old_secret, old_passphrase, run / name)
        ).hexdigest()
        for run in trust.runs()
        for name in stored_files(run)
    }
    assert len(before) == 6
    # The runbook: both private keys in the restore config, the new public key in the backup.
    restore = trust.site.write_client_config(
        "acme-restore-both",
        {
            "private-key": b64(old_secret + new_key.secret_armored),
            "private-key-passphrases": json.dumps([old_passphrase, NEW_PASSPHRASE]),
        },
    )
    values = tomllib.loads(trust.config_path.read_text())
    values.update({"public-key": b64(new_key.public_armored), "key-name": new_key.fingerprint})
    url = trust.site.write_client_config("acme-rotated", values)

    snapshot = {p: p.read_bytes() for p in trust.site.share.rglob("*") if p.is_file()}
    dry = trust.job("rekey", "--dry-run", url=url, restore=restore)
    assert (dry.code, dry.failures) == (0, []), dry.stdout + dry.stderr
    assert [line.split(" ")[0:2] for line in dry.stdout.splitlines()[:-1]] == [
        ["would", "rekey"],
        ["would", "rekey"],
    ]
    assert {p: p.read_bytes() for p in trust.site.share.rglob("*") if p.is_file()} == snapshot

    rekeyed = trust.job("rekey", "--run", "all", url=url, restore=restore)

    assert (rekeyed.code, rekeyed.failures) == (0, []), rekeyed.stdout + rekeyed.stderr
    assert rekeyed.stdout.splitlines()[-1] == (
        "rekey acme: 2 runs re-encrypted (6 files), 0 finished, 0 already on the current key, "
        "0 failures"
    )
    after = {}
    for run in trust.runs():
        manifest = json.loads((run / "manifest.json").read_text())
        assert manifest["key_fingerprint"] == new_key.fingerprint
        assert sorted(p.name for p in run.glob("*.gpg")) == sorted(stored_files(run))
        for name in stored_files(run):
            plain = plain_decrypt(new_key.secret_armored, NEW_PASSPHRASE, run / name)
            after[(run.name, name.replace(f".{new_key.fingerprint[-16:]}", ""))] = hashlib.sha256(
                plain
            ).hexdigest()
            with pytest.raises(GpgHelperError):
                plain_decrypt(old_secret, old_passphrase, run / name)
        assert "Good signature" in plain_verify(trust.signing_public, run, tmp_path)
        checked = subprocess.run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=run)
        assert checked.returncode == 0
    assert after == before

    verified = trust.job("verify", "--run", "all", "--logs", url=url, restore=restore)
    assert (verified.code, verified.failures) == (0, []), verified.stdout
    assert verified.stdout.splitlines()[-1] == (
        "verify acme: 2 runs, 6 files checked, 6 decrypted, 2 signed, 0 unsigned, 1 logs checked, "
        "0 problems"
    )
    log = [json.loads(line) for line in (trust.site.share / "rekey.jsonl").read_text().splitlines()]
    assert [entry["event"] for entry in log] == ["rekeyed", "rekeyed"]

    # Old runs restore with the two-key restore config: the key each file names is chosen.
    target = f"rotated_{trust.tag}"
    restored = trust.job(
        "restore",
        "--database",
        trust.shop,
        "--run",
        trust.first,
        "--target-database",
        target,
        url=url,
        restore=restore,
    )
    assert restored.code == 0, restored.stdout + restored.stderr
    assert trust.query(target) == trust.first_data

    again = trust.job("rekey", url=url, restore=restore)
    assert again.stdout.splitlines()[-1].endswith(
        "0 runs re-encrypted (0 files), 0 finished, 2 already on the current key, 0 failures"
    )
    # The last step of the runbook: the old key leaves the restore config.
    only_new = trust.site.write_client_config(
        "acme-restore-new",
        {"private-key": b64(new_key.secret_armored), "private-key-passphrase": NEW_PASSPHRASE},
    )
    alone = trust.job("verify", "--run", "all", url=url, restore=only_new)
    assert (alone.code, alone.failures) == (0, []), alone.stdout

    logs = trust.site.logs()
    for secret in (NEW_PASSPHRASE, old_passphrase, trust.password):
        assert secret not in logs
        assert secret not in rekeyed.stdout + rekeyed.stderr + verified.stdout
