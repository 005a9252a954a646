"""The backup job with an https:// KEY_VAULT and Entra ID login to PostgreSQL.

The real azure-identity and azure-keyvault-secrets clients in the job talk to a loopback HTTPS
double of Entra ID and Key Vault (tests/support/azure_double.py); the job trusts the double's CA
through REQUESTS_CA_BUNDLE, as an operator behind a TLS-inspecting proxy would configure it.
The PostgreSQL role of the service principal has the token the double issues as its password.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from adapters.fernet.cipher import FernetSecretCipher
from tests.support.azure_double import AzureDouble
from tests.support.gpg import KeyPair, generate_key_pair
from tests.support.jobs import JobResult, Site, b64
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.integration

ENTRA_SCOPE = "https://ossrdbms-aad.database.windows.net/.default"


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return generate_key_pair(tmp_path_factory.mktemp("keys"), "acme", "acme@backup.test", None)


@pytest.fixture
def double() -> Iterator[AzureDouble]:
    with AzureDouble() as running:
        yield running


@pytest.fixture(scope="module")
def entra_role(postgres_server: PostgresServer) -> dict[str, str]:
    """A login role named after a service principal, whose password is its Entra token."""
    app_id = f"app-{secrets.token_hex(4)}"
    token = "eyJ0eXAi." + secrets.token_urlsafe(60)
    postgres_server.create_role(app_id, token, "pg_read_all_data")
    databases = [f"entra_{secrets.token_hex(3)}" for _ in range(2)]
    for name in databases:
        postgres_server.create_database(name)
        postgres_server.execute("CREATE TABLE t AS SELECT generate_series(1, 500) AS n", name)
    return {
        "app_id": app_id,
        "token": token,
        "sp_secret": "sp-" + secrets.token_urlsafe(20),
        "databases": ",".join(databases),
    }


def others(server: PostgresServer, keep: str) -> str:
    with server.connect() as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE NOT datistemplate").fetchall()
    mine = set(keep.split(","))
    return ",".join(str(r[0]) for r in rows if r[0] not in mine and "," not in str(r[0]))


def load_vault(
    double: AzureDouble, server: PostgresServer, role: dict[str, str], key: KeyPair, share: Path
) -> None:
    values = {
        "client-name": "acme",
        "postgresql-host": server.host,
        "postgresql-port": str(server.port),
        "postgresql-auth": "entra",
        "postgresql-service-principal-id": role["app_id"],
        "postgresql-secret": role["sp_secret"],
        "postgresql-sslmode": "disable",
        "key-name": "acme",
        "public-key": b64(key.public_armored),
        "exclude-databases": others(server, role["databases"]),
        "storage-unc": f"file://{share}",
        "end-of-month-retention": "400",
        "end-of-year-retention": "3650",
    }
    for name, value in values.items():
        double.set_secret(name, value)
    double.add_principal(role["app_id"], role["sp_secret"])
    double.fixed_tokens[role["app_id"]] = role["token"]


def run_backup(
    site: Site,
    double: AzureDouble,
    client_id: str,
    secret: str,
    extra_env: dict[str, str] | None = None,
    trust: str = "REQUESTS_CA_BUNDLE",
) -> JobResult:
    token = FernetSecretCipher(site.key_file).encrypt(SecretStr(secret))
    env = {
        trust: str(double.ca_file),
        "LTS_AZURE__DISABLE_INSTANCE_DISCOVERY": "true",
        **(extra_env or {}),
    }
    return site.run(
        "backup",
        "acme",
        "6",
        double.vault_url,
        client_id,
        token,
        "--tenant_id",
        double.tenant_id,
        "--authority_host",
        double.authority_host,
        env=env,
    )


def test_the_backup_reads_its_config_from_key_vault_once_and_logs_in_with_entra(
    tmp_path, double, postgres_server, entra_role, key_pair
):
    site = Site(tmp_path)
    load_vault(double, postgres_server, entra_role, key_pair, site.share)
    reader, reader_secret = double.add_principal()
    result = run_backup(site, double, reader, reader_secret)

    assert (result.code, result.failures) == (0, []), result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].startswith("backup acme: 2 of 2 databases ok")
    read = {path: count for path, count in double.requests.items() if path.startswith("/secrets/")}
    assert read, "the vault was read"
    assert set(read.values()) == {1}, read
    manifest = json.loads(next(site.share.rglob("manifest.json")).read_text())
    assert sorted(d["name"] for d in manifest["databases"]) == sorted(
        entra_role["databases"].split(",")
    )
    pg_tokens = [t for t in double.tokens if t.scope == ENTRA_SCOPE]
    # A fresh token for every connection: discovery, globals and each database's pg_dump.
    assert len(pg_tokens) >= 2 + 1 + 2
    for secret in (reader_secret, entra_role["sp_secret"], entra_role["token"]):
        assert secret not in result.stdout + result.stderr + site.logs()


def test_the_vaults_ca_can_come_from_the_master_config(
    tmp_path, double, postgres_server, entra_role, key_pair
):
    site = Site(tmp_path)
    load_vault(double, postgres_server, entra_role, key_pair, site.share)
    reader, reader_secret = double.add_principal()
    # REQUESTS_CA_BUNDLE stays the system's bundle: [azure] ca_file must win over it.
    result = run_backup(site, double, reader, reader_secret, trust="LTS_AZURE__CA_FILE")
    assert (result.code, result.failures) == (0, []), result.stdout + result.stderr


def test_a_wrong_client_secret_is_one_clear_line(
    tmp_path, double, postgres_server, entra_role, key_pair
):
    site = Site(tmp_path)
    load_vault(double, postgres_server, entra_role, key_pair, site.share)
    reader, _ = double.add_principal()
    result = run_backup(site, double, reader, "not-the-secret")
    assert result.code == 1
    assert len(result.failures) == 1
    assert result.failures[0].startswith(
        f"Failure: read_config acme cannot log in to Entra ID at "
        f"{double.authority_host} as {reader}"
    )
    assert "not-the-secret" not in result.stdout + site.logs()


def test_missing_secrets_are_listed_in_one_line(
    tmp_path, double, postgres_server, entra_role, key_pair
):
    site = Site(tmp_path)
    load_vault(double, postgres_server, entra_role, key_pair, site.share)
    double.secrets.pop("key-name")
    double.secrets.pop("storage-unc")
    reader, reader_secret = double.add_principal()
    result = run_backup(site, double, reader, reader_secret)
    assert result.code == 1
    assert len(result.failures) == 1
    assert "key-name is missing" in result.failures[0]
    assert "storage-unc is missing" in result.failures[0]


def test_a_vault_that_does_not_exist_is_one_line(
    tmp_path, double, postgres_server, entra_role, key_pair
):
    site = Site(tmp_path)
    double.vault_missing = True
    reader, reader_secret = double.add_principal()
    result = run_backup(site, double, reader, reader_secret)
    assert result.code == 1
    assert result.failures == [
        f"Failure: read_config acme cannot read Key Vault {double.vault_url}: "
        + result.failures[0].split(f"{double.vault_url}: ", 1)[1]
    ]
    assert "404" in result.failures[0]


def test_a_slow_vault_is_one_line_within_bounded_time(
    tmp_path, double, postgres_server, entra_role, key_pair
):
    site = Site(tmp_path)
    load_vault(double, postgres_server, entra_role, key_pair, site.share)
    reader, reader_secret = double.add_principal()
    double.delay = 3.0
    result = run_backup(
        site,
        double,
        reader,
        reader_secret,
        {"LTS_AZURE__READ_TIMEOUT": "0.5", "LTS_AZURE__RETRIES": "0"},
    )
    assert result.code == 1
    assert len(result.failures) == 1
    assert result.failures[0].startswith("Failure: read_config acme ")


def test_a_token_made_with_another_fernet_key_is_one_line(tmp_path, double):
    site = Site(tmp_path)
    reader, reader_secret = double.add_principal()
    other = tmp_path / "other.key"
    from adapters.fernet.cipher import generate_key_file

    generate_key_file(other)
    token = FernetSecretCipher(other).encrypt(SecretStr(reader_secret))
    result = site.run(
        "backup",
        "acme",
        "6",
        double.vault_url,
        reader,
        token,
        "--tenant_id",
        double.tenant_id,
        "--authority_host",
        double.authority_host,
        env={"REQUESTS_CA_BUNDLE": str(double.ca_file)},
    )
    assert result.code == 1
    assert len(result.failures) == 1
    assert result.failures[0].startswith("Failure: read_config acme ")
    assert "cannot be decrypted" in result.failures[0]
    assert sum(double.requests.values()) == 0
