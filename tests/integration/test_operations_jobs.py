"""create_client, check and archive end to end, as the scheduler and the operator run them.

A real PostgreSQL 15 server (scram passwords over TCP), the real gpg, a local directory share,
file:// configs, and the Azure double for an https:// backup config. The acceptance story:
create_client onboards a client, check is clean, a backup runs, check is still clean, then
problems are planted one by one and check names each with exactly one Failure.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import stat
import subprocess
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from psycopg import sql
from pydantic import SecretStr

from adapters.fernet.cipher import FernetSecretCipher
from adapters.files.local_share import LocalDirFileShare
from tests.support.azure_double import AzureDouble
from tests.support.gpg import decrypt, generate_key_pair
from tests.support.jobs import JobResult, Site, b64
from tests.support.postgres import PostgresServer
from tests.support.seeding import at, seed_run

pytestmark = pytest.mark.integration

EOY_MONTH = "6"


class Client:
    """One onboarded client: its databases, its backup role, its site and configs."""

    def __init__(self, root: Path, server: PostgresServer) -> None:
        self.server = server
        self.tag = secrets.token_hex(3)
        self.role, self.password = f"ops_{self.tag}", "pw-" + secrets.token_urlsafe(20)
        # Explicit grants, not pg_read_all_data: a REVOKE must be able to take one table away.
        server.create_role(self.role, self.password)
        self.databases = [f"shop_{self.tag}", f"hr_{self.tag}"]
        for name in self.databases:
            server.create_database(name)
            server.execute(
                "CREATE TABLE items (id serial PRIMARY KEY, label text);"
                "CREATE TABLE orders (id int, item int);"
                "INSERT INTO items (label) SELECT 'item ' || g FROM generate_series(1, 500) g;",
                dbname=name,
            )
            for kind in ("TABLES", "SEQUENCES"):
                server.execute(
                    sql.SQL("GRANT SELECT ON ALL {} IN SCHEMA public TO {}").format(
                        sql.SQL(kind), sql.Identifier(self.role)
                    ),
                    dbname=name,
                )
        self.site = Site(root)
        self.site.settings = {"backup": {"pg_bin_dir": str(server.bin_dir)}}
        self.site.write_master_config()
        self.secret_file = root / "pg-secret"
        self.secret_file.write_text(self.password + "\n")
        self.secret_file.chmod(0o600)
        configs = root / "configs"
        self.config_path = configs / "acme.toml"
        self.restore_path = configs / "acme-restore.toml"
        self.url = f"file://{self.config_path}"
        self.restore_url = f"file://{self.restore_path}"

    def exclude(self) -> str:
        with self.server.connect() as conn:
            rows = conn.execute(
                "SELECT datname FROM pg_database WHERE NOT datistemplate"
            ).fetchall()
        return ",".join(
            str(r[0]) for r in rows if r[0] not in self.databases and "," not in str(r[0])
        )

    def create_client(self, *extra: str, url: str | None = None, **kwargs: object) -> JobResult:
        return self.site.run(
            "create_client",
            "acme",
            url or self.url,
            *extra,
            "--restore-vault",
            self.restore_url,
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
            str(self.secret_file),
            "--storage-unc",
            f"file://{self.site.share}",
            "--exclude-databases",
            self.exclude(),
            **kwargs,  # type: ignore[arg-type]
        )

    def check(self, url: str | None = None, at: str | None = None) -> JobResult:
        return self.site.run(
            "check", "acme", url or self.url, "-", "-", "--restore-vault", self.restore_url, at=at
        )

    def config(self) -> dict[str, str]:
        return tomllib.loads(self.config_path.read_text())

    def restore_config(self) -> dict[str, str]:
        return tomllib.loads(self.restore_path.read_text())


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer) -> Client:
    return Client(tmp_path_factory.mktemp("ops"), postgres_server)


@pytest.fixture(scope="module")
def onboarded(client: Client) -> JobResult:
    return client.create_client("-", "-")


def only_failure(result: JobResult) -> str:
    assert result.code == 1, result.stdout + result.stderr
    assert len(result.failures) == 1, result.stdout
    return result.failures[0]


# ---------------------------------------------------------------------- create_client


def test_create_client_writes_private_configs_the_share_folders_and_checks_clean(client, onboarded):
    assert (onboarded.code, onboarded.failures) == (0, []), onboarded.stdout + onboarded.stderr
    assert onboarded.stdout.splitlines()[-1].startswith("create_client acme: key ")
    assert onboarded.stdout.splitlines()[-1].endswith(
        "wrote restore config and backup config, ready"
    )
    for path in (client.config_path, client.restore_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    config = client.config()
    assert config["client-name"] == config["key-name"] == "acme"
    assert config["postgresql-secret"] == client.password
    assert client.restore_config()["backup-config-host"] == client.url
    for folder in ("end-of-month", "end-of-year", "archive"):
        assert (client.site.share / folder).is_dir()
    assert list(client.site.share.glob(".lts-check*")) == []
    assert list((client.site.root / "work").iterdir()) == []


def test_the_generated_key_pair_opens_with_plain_gpg_and_its_passphrase_is_strong(
    client, onboarded, tmp_path
):
    restore = client.restore_config()
    passphrase = restore["private-key-passphrase"]
    assert len(passphrase) >= 40
    secret_key = base64.b64decode(restore["private-key"])
    assert secret_key.startswith(b"-----BEGIN PGP PRIVATE KEY BLOCK-----")
    listing = subprocess.run(
        ["gpg", "--list-packets"], input=secret_key, capture_output=True, check=False
    ).stdout.decode()
    assert "protected" in listing
    encrypted = subprocess.run(
        [
            "gpg",
            "--homedir",
            str(tmp_path),
            "--batch",
            "--trust-model",
            "always",
            "--import",
        ],
        input=base64.b64decode(client.config()["public-key"]),
        capture_output=True,
        check=False,
    )
    assert encrypted.returncode == 0
    sealed = subprocess.run(
        [
            *("gpg", "--homedir", str(tmp_path), "--batch", "--trust-model", "always"),
            *("--encrypt", "--recipient", "acme@long-term-storage.invalid", "--output", "-"),
        ],
        input=b"hello",
        capture_output=True,
        check=False,
    ).stdout
    subprocess.run(["gpgconf", "--homedir", str(tmp_path), "--kill", "all"], check=False)
    assert decrypt(secret_key, sealed, passphrase=passphrase, directory=tmp_path) == b"hello"


def test_no_secret_reaches_the_output_or_the_logs(client, onboarded):
    restore = client.restore_config()
    shown = onboarded.stdout + onboarded.stderr + client.site.logs()
    for value in (client.password, restore["private-key-passphrase"], restore["private-key"]):
        assert value not in shown


def test_create_client_refuses_an_existing_client_and_writes_nothing(client, onboarded):
    before = (client.config_path.read_bytes(), client.restore_path.read_bytes())
    result = client.create_client("-", "-")
    assert only_failure(result) == (
        "Failure: check_configs_absent acme the backup config (KEY_VAULT) and the restore "
        "config (--restore-vault) already hold a client's settings; refusing to overwrite them, "
        "nothing was written"
    )
    assert (client.config_path.read_bytes(), client.restore_path.read_bytes()) == before


def test_create_client_takes_no_secret_on_the_command_line(client, onboarded):
    result = client.create_client("-", "-", "--postgresql-secret", "pw")
    assert result.code == 2
    assert "unrecognized arguments: --postgresql-secret pw" in result.stderr


# ---------------------------------------------------------------------- check


def test_check_is_clean_before_and_after_a_backup(client, onboarded):
    first = client.check()
    assert (first.code, first.failures) == (0, []), first.stdout + first.stderr
    assert first.stdout.splitlines()[-1] == "check acme: ready, 0 months of runs checked"
    backup = client.site.run("backup", "acme", EOY_MONTH, client.url, "-", "-")
    assert (backup.code, backup.failures) == (0, []), backup.stdout + backup.stderr
    second = client.check()
    assert (second.code, second.failures) == (0, []), second.stdout + second.stderr


def test_check_names_a_revoked_table_privilege(client, onboarded, postgres_server):
    database = client.databases[0]
    grant = sql.SQL("{} SELECT ON orders {} {}")
    postgres_server.execute(
        grant.format(sql.SQL("REVOKE"), sql.SQL("FROM"), sql.Identifier(client.role)), database
    )
    try:
        failure = only_failure(client.check())
    finally:
        postgres_server.execute(
            grant.format(sql.SQL("GRANT"), sql.SQL("TO"), sql.Identifier(client.role)), database
        )
    assert failure == (
        f"Failure: report_unreadable acme {database} public.orders cannot be read by the backup "
        f"role {client.role}, so pg_dump would fail: grant it SELECT, or pg_read_all_data"
    )


def test_check_names_an_expired_public_key(client, onboarded, tmp_path):
    expired = generate_key_pair(
        tmp_path,
        "acme",
        "acme@long-term-storage.invalid",
        None,
        expire="1d",
        created="20200101T000000",
    )
    values = {**client.config(), "public-key": b64(expired.public_armored)}
    url = client.site.write_client_config("expired", values)
    failure = only_failure(client.check(url))
    assert failure.startswith("Failure: load_public_key acme the public key")
    assert "has expired" in failure


def test_check_names_a_missing_month(client, onboarded):
    share = LocalDirFileShare(client.site.share)
    now = datetime.now(UTC)
    index = now.year * 12 + now.month - 1
    months = [divmod(index - back, 12) for back in (3, 2, 1)]
    seeded = [
        seed_run(share, at(year, month + 1), eoy_month=int(EOY_MONTH)) for year, month in months[:2]
    ]
    try:
        failure = only_failure(client.check())
    finally:
        for run in seeded:
            share.delete_tree(run)
    year, month = months[2]
    label = f"{year:04d}-{month + 1:02d}"
    folder = f"end-of-year/FY{year}" if month + 1 == int(EOY_MONTH) else f"end-of-month/{label}"
    assert (
        failure == f"Failure: find_complete_run acme {label} has no run (expected under {folder}/)"
    )


def test_check_requires_a_month_only_once_it_has_passed(client, onboarded):
    now = datetime.now(UTC)
    index = now.year * 12 + now.month - 1
    later_year, later_month = divmod(index + 2, 12)
    missing_year, missing_month = divmod(index + 1, 12)
    result = client.check(at=f"{later_year:04d}-{later_month + 1:02d}-01 12:00:00")
    label = f"{missing_year:04d}-{missing_month + 1:02d}"
    assert only_failure(result).startswith(f"Failure: find_complete_run acme {label} has no run")


def test_check_names_a_read_only_share(client, onboarded):
    share = str(client.site.share)
    mounted = subprocess.run(["mount", "--bind", share, share], capture_output=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {mounted.stderr.decode().strip()}")
    try:
        remounted = subprocess.run(
            ["mount", "-o", "remount,ro,bind", share], capture_output=True, check=False
        )
        if remounted.returncode != 0:
            pytest.skip(f"cannot remount read-only here: {remounted.stderr.decode().strip()}")
        failure = only_failure(client.check())
    finally:
        subprocess.run(["umount", share], capture_output=True, check=False)
    assert failure == f"Failure: mount_share acme share root {share} is not writable"


def test_check_names_a_restore_key_of_another_pair(client, onboarded, tmp_path):
    other = generate_key_pair(tmp_path, "other", "other@x.test", "other-pass")
    url = client.site.write_client_config(
        "other-restore",
        {
            "private-key": b64(other.secret_armored),
            "private-key-passphrase": "other-pass",
            "backup-config-host": client.url,
        },
    )
    result = client.site.run("check", "acme", client.url, "-", "-", "--restore-vault", url)
    failure = only_failure(result)
    assert failure.startswith("Failure: decrypt_sample acme the restore config's private key")


# ---------------------------------------------------------------------- archive


def test_archive_stores_the_file_encrypted_and_records_its_sha256(client, onboarded, tmp_path):
    document = tmp_path / "contract 2026.pdf"
    content = b"%PDF signed contract\n" * 5000
    document.write_bytes(content)
    result = client.site.run(
        "archive", "acme", client.url, "-", "-", str(document), "--folder", "contracts"
    )
    assert (result.code, result.failures) == (0, []), result.stdout + result.stderr
    stored = client.site.share / "archive" / "contracts" / "contract 2026.pdf.gpg"
    data = stored.read_bytes()
    assert content[:100] not in data
    entry = json.loads((stored.parent / "ARCHIVE.jsonl").read_text().splitlines()[-1])
    assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert entry["bytes"] == len(content)
    restore = client.restore_config()
    opened = decrypt(
        base64.b64decode(restore["private-key"]),
        data,
        passphrase=restore["private-key-passphrase"],
        directory=tmp_path,
    )
    assert opened == content
    assert sorted(p.name for p in stored.parent.iterdir()) == [
        "ARCHIVE.jsonl",
        "contract 2026.pdf.gpg",
    ]
    assert list((client.site.root / "work").iterdir()) == []

    again = client.site.run(
        "archive", "acme", client.url, "-", "-", str(document), "--folder", "contracts"
    )
    assert only_failure(again).startswith("Failure: check_file acme contract 2026.pdf ")
    assert stored.read_bytes() == data


def test_archive_refuses_an_unsafe_folder(client, onboarded, tmp_path):
    result = client.site.run(
        "archive", "acme", client.url, "-", "-", str(tmp_path), "--folder", "../x"
    )
    assert result.code == 2
    assert "--folder" in result.stderr


# ---------------------------------------------------------------------- https:// Key Vault


@pytest.fixture
def double() -> Iterator[AzureDouble]:
    with AzureDouble() as running:
        yield running


def test_create_client_writes_the_backup_config_into_key_vault(tmp_path, postgres_server, double):
    client = Client(tmp_path, postgres_server)
    principal, principal_secret = double.add_principal()
    token = FernetSecretCipher(client.site.key_file).encrypt(SecretStr(principal_secret))
    env = {
        "REQUESTS_CA_BUNDLE": str(double.ca_file),
        "LTS_AZURE__DISABLE_INSTANCE_DISCOVERY": "true",
    }
    azure = ["--tenant_id", double.tenant_id, "--authority_host", double.authority_host]
    result = client.create_client(principal, token, *azure, url=double.vault_url, env=env)
    assert (result.code, result.failures) == (0, []), result.stdout + result.stderr
    assert double.secret_value("client-name") == "acme"
    assert double.secret_value("postgresql-secret") == client.password
    public = base64.b64decode(double.secret_value("public-key") or "")
    assert public.startswith(b"-----BEGIN PGP PUBLIC KEY BLOCK-----")
    assert "private-key" not in double.secrets
    assert client.restore_config()["backup-config-host"] == double.vault_url
    shown = result.stdout + result.stderr + client.site.logs()
    for value in (
        principal_secret,
        client.password,
        client.restore_config()["private-key-passphrase"],
    ):
        assert value not in shown

    again = client.create_client(principal, token, *azure, url=double.vault_url, env=env)
    assert only_failure(again).startswith("Failure: check_configs_absent acme the backup config")
