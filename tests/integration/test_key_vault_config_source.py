"""KeyVaultConfigSource with the real Azure SDK against the loopback Entra ID + Key Vault double."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from adapters.azure.key_vault import KeyVaultConfigSource
from adapters.fernet.cipher import FernetSecretCipher, FernetTokenSecret
from domain.models.redaction import MASK, Redactor
from ports.errors import ConfigSourceError, SecretError
from tests.support.azure_double import AzureDouble

pytestmark = pytest.mark.integration

REPOSITORY = Path(__file__).resolve().parents[2]
SETTINGS = {
    "client-name": "acme",
    "postgresql-host": "db.acme.example",
    "postgresql-port": "5432",
    "postgresql-secret": "pg-Secret-4711",
    "storage-key": "c3RvcmFnZS1rZXktdmFsdWU=",
    "public-key": "LS0tLS1CRUdJTiBQR1AgUFVCTElDIEtFWS0tLS0t",
}
OPTIONAL_ABSENT = ("exclude-databases", "postgresql-user")


@pytest.fixture
def double() -> Iterator[AzureDouble]:
    with AzureDouble() as started:
        for name, value in SETTINGS.items():
            started.set_secret(name, value)
        yield started


@pytest.fixture
def principal(double: AzureDouble) -> tuple[str, str]:
    return double.add_principal()


def client_options(double: AzureDouble, **overrides: object) -> dict[str, object]:
    """Return the Azure client options of the tests: the double's CA, short waits, no retries."""
    return {
        "connection_verify": str(double.ca_file),
        "connection_timeout": 5,
        "read_timeout": 10,
        "retry_total": 0,
        **overrides,
    }


def make_source(
    double: AzureDouble,
    principal: tuple[str, str],
    redactor: Redactor | None = None,
    *,
    client_secret: Callable[[], SecretStr] | None = None,
    options: dict[str, object] | None = None,
    **overrides: object,
) -> KeyVaultConfigSource:
    settings: dict[str, object] = {
        "vault_url": double.vault_url,
        "tenant_id": double.tenant_id,
        "authority_host": double.authority_host,
        "disable_instance_discovery": True,
        "client_options": options if options is not None else client_options(double),
    }
    settings.update(overrides)
    client_id, secret = principal
    return KeyVaultConfigSource(
        client_id=client_id,
        client_secret=client_secret or (lambda: SecretStr(secret)),
        redactor=redactor or Redactor(),
        **settings,  # type: ignore[arg-type]
    )


class CountingSecret:
    """A client secret that counts how often it was asked for."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.calls = 0

    def __call__(self) -> SecretStr:
        self.calls += 1
        return SecretStr(self.secret)


def key_file(path: Path) -> Path:
    path.write_text(Fernet.generate_key().decode() + "\n")
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def assert_one_clean_line(error: BaseException, *secrets: str) -> str:
    text = str(error)
    assert "\n" not in text
    assert "\r" not in text
    assert "Traceback" not in text
    for secret in secrets:
        assert secret not in text
    assert error.__suppress_context__ or error.__cause__ is None
    return text


# ---------------------------------------------------------------- reading


def test_read_returns_every_setting_reading_each_secret_exactly_once(double, principal):
    source = make_source(double, principal)

    values = source.read([*SETTINGS, *OPTIONAL_ABSENT, "client-name"])

    assert values == SETTINGS
    for name in [*SETTINGS, *OPTIONAL_ABSENT]:
        assert double.requests[f"/secrets/{name}"] == 1, name
    assert double.requests[double.token_path] == 1


def test_read_leaves_absent_optional_keys_out(double, principal):
    source = make_source(double, principal)

    values = source.read(["client-name", *OPTIONAL_ABSENT])

    assert values == {"client-name": "acme"}


def test_read_of_no_keys_contacts_nobody(double, principal):
    source = make_source(double, principal)

    assert source.read([]) == {}
    assert sum(double.requests.values()) == 0


def test_read_registers_the_client_secret_and_leaves_ordinary_values_readable(double, principal):
    # Which values are secrets is the domain's to say (ClientConfig.secret_keys); the adapter
    # masks the one secret it brings itself.
    redactor = Redactor()
    source = make_source(double, principal, redactor)

    source.read(list(SETTINGS))

    assert redactor.redact(principal[1]) == MASK
    assert redactor.redact(SETTINGS["client-name"]) == SETTINGS["client-name"]


def test_read_reads_many_keys_concurrently_within_one_delay_per_worker_batch(double, principal):
    names = [f"setting-{index}" for index in range(8)]
    for name in names:
        double.set_secret(name, f"value-{name}")
    source = make_source(double, principal, max_workers=8)
    double.delay = 0.3

    started = time.monotonic()
    values = source.read(names)
    elapsed = time.monotonic() - started

    assert values == {name: f"value-{name}" for name in names}
    # One read alone (it meets the challenge), then seven at once: about two delays, not eight.
    assert elapsed < 0.3 * 5


# ---------------------------------------------------------------- failures


def test_wrong_client_secret_is_one_line_naming_authority_and_client_without_the_secret(
    double, principal, caplog
):
    caplog.set_level(logging.DEBUG)
    client_id, _ = principal
    wrong = "wrong-Secret-9f8e7d"
    source = make_source(double, (client_id, wrong))

    with pytest.raises(ConfigSourceError) as raised:
        source.read(list(SETTINGS))

    text = assert_one_clean_line(raised.value, wrong)
    assert text.startswith(
        f"cannot log in to Entra ID at {double.authority_host} as {client_id}: AADSTS7000215"
    )
    assert wrong not in caplog.text
    assert double.requests[double.token_path] == 1


def test_unknown_client_id_is_a_login_failure(double):
    source = make_source(double, ("no-such-app", "some-Secret-123"))

    with pytest.raises(ConfigSourceError) as raised:
        source.read(["client-name"])

    text = assert_one_clean_line(raised.value, "some-Secret-123")
    assert text.startswith(f"cannot log in to Entra ID at {double.authority_host} as no-such-app")
    assert "AADSTS700016" in text


def test_unreachable_authority_is_a_login_failure(double, principal):
    authority = f"https://127.0.0.1:{free_port()}"
    source = make_source(double, principal, authority_host=authority)

    with pytest.raises(ConfigSourceError) as raised:
        source.read(["client-name"])

    text = assert_one_clean_line(raised.value, principal[1])
    assert text == f"cannot log in to Entra ID at {authority} as {principal[0]}: connection refused"


def test_missing_vault_is_one_line_naming_the_vault(double, principal):
    double.vault_missing = True
    source = make_source(double, principal)

    with pytest.raises(ConfigSourceError) as raised:
        source.read(list(SETTINGS))

    text = assert_one_clean_line(raised.value, principal[1])
    assert text == (
        f"cannot read Key Vault {double.vault_url}: no vault answers at this address (HTTP 404)"
    )


def test_refused_vault_connection_is_one_line_naming_the_vault(double, principal):
    vault = f"https://127.0.0.1:{free_port()}"
    source = make_source(double, principal, vault_url=vault)

    with pytest.raises(ConfigSourceError) as raised:
        source.read(["client-name"])

    assert assert_one_clean_line(raised.value, principal[1]) == (
        f"cannot read Key Vault {vault}: connection refused"
    )


def test_unknown_vault_host_is_one_line_naming_the_vault(double, principal):
    vault = "https://no-such-vault.invalid"
    source = make_source(double, principal, vault_url=vault)

    with pytest.raises(ConfigSourceError) as raised:
        source.read(["client-name"])

    assert assert_one_clean_line(raised.value, principal[1]) == (
        f"cannot read Key Vault {vault}: host name not found"
    )


def test_slow_vault_fails_after_the_read_timeout_with_one_line(double, principal):
    double.delay = 10
    source = make_source(double, principal, options=client_options(double, read_timeout=0.5))

    started = time.monotonic()
    with pytest.raises(ConfigSourceError) as raised:
        source.read(list(SETTINGS))
    elapsed = time.monotonic() - started

    assert assert_one_clean_line(raised.value, principal[1]) == (
        f"cannot read Key Vault {double.vault_url}: no answer within 0.5 s"
    )
    assert elapsed < 5


def test_forbidden_vault_names_the_missing_permission(double, principal):
    double.forbidden.add(principal[0])
    source = make_source(double, principal)

    with pytest.raises(ConfigSourceError) as raised:
        source.read(list(SETTINGS))

    text = assert_one_clean_line(raised.value, principal[1])
    assert text.startswith(f"cannot read Key Vault {double.vault_url}: {principal[0]} may not read")
    assert "Key Vault Secrets User" in text
    assert "getSecret" in text


def test_token_made_with_another_key_raises_secret_error_before_any_request(
    double, principal, tmp_path
):
    # Composed as the container composes it: the token is decrypted when the vault is used.
    other_host = FernetSecretCipher(key_file(tmp_path / "other.key"))
    token = other_host.encrypt(SecretStr(principal[1]))
    this_host = FernetSecretCipher(key_file(tmp_path / "this.key"))
    source = make_source(double, principal, client_secret=FernetTokenSecret(this_host, token))

    with pytest.raises(SecretError, match="cannot be decrypted"):
        source.read(list(SETTINGS))

    assert sum(double.requests.values()) == 0


def test_damaged_token_raises_secret_error(double, principal, tmp_path):
    cipher = FernetSecretCipher(key_file(tmp_path / "fernet.key"))
    source = make_source(
        double, principal, client_secret=FernetTokenSecret(cipher, "not base64 at all!")
    )

    with pytest.raises(SecretError):
        source.read(["client-name"])

    assert sum(double.requests.values()) == 0


def test_construction_asks_for_no_secret_and_contacts_nobody(double, principal):
    secret = CountingSecret(principal[1])

    source = make_source(double, principal, client_secret=secret)

    assert secret.calls == 0
    assert sum(double.requests.values()) == 0
    source.read(["client-name"])
    assert secret.calls == 1


def test_the_client_options_reach_both_the_vault_client_and_the_login(double, principal):
    # The double's certificate is trusted only through `connection_verify` in the options: the
    # vault client meets the double first (its challenge), the login only after it.
    without_ca = client_options(double)
    del without_ca["connection_verify"]

    with pytest.raises(ConfigSourceError) as raised:
        make_source(double, principal, options=without_ca).read(["client-name"])
    values = make_source(double, principal, options=client_options(double)).read(["client-name"])

    text = assert_one_clean_line(raised.value, principal[1])
    assert text.startswith(f"cannot read Key Vault {double.vault_url}: TLS certificate not trusted")
    assert values == {"client-name": "acme"}
    assert double.tokens, "the login went through the options' CA too"


# ---------------------------------------------------------------- secrecy


def test_neither_the_client_secret_nor_values_reach_the_log(double, principal, caplog):
    caplog.set_level(logging.DEBUG)
    source = make_source(double, principal)

    source.read([*SETTINGS, *OPTIONAL_ABSENT])
    double.vault_missing = True
    with pytest.raises(ConfigSourceError):
        source.read(["client-name"])

    for secret in [principal[1], SETTINGS["postgresql-secret"], SETTINGS["storage-key"]]:
        assert secret not in caplog.text
    assert not [r for r in caplog.records if r.name.startswith("azure") and r.levelno < 30]
    assert not [r for r in caplog.records if r.name.startswith("msal") and r.levelno < 30]


def test_importing_the_adapter_imports_no_azure_module():
    script = (
        "import sys, adapters.azure.key_vault\n"
        "loaded = [m for m in sys.modules if m == 'azure' or m.startswith('azure.')]\n"
        "print(','.join(loaded))\n"
    )
    finished = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )

    assert finished.stdout.strip() == ""


# ---------------------------------------------------------------- writing


def test_write_stores_every_value_in_an_empty_vault(principal):
    with AzureDouble() as empty:
        client_id, secret = empty.add_principal(*principal)
        redactor = Redactor()
        source = make_source(empty, (client_id, secret), redactor)

        source.write({"client-name": "beta", "postgresql-secret": SecretStr("pw-Beta-123")})

        assert empty.secret_value("client-name") == "beta"
        assert empty.secret_value("postgresql-secret") == "pw-Beta-123"
        assert redactor.redact("pw-Beta-123") == MASK
        assert empty.requests["/secrets/postgresql-secret"] == 1


def test_write_refuses_a_vault_that_already_holds_a_client(double, principal):
    source = make_source(double, principal)

    with pytest.raises(ConfigSourceError) as raised:
        source.write({"client-name": "beta", "postgresql-host": "other"})

    assert "already holds a client's settings" in assert_one_clean_line(raised.value)
    assert double.secret_value("client-name") == "acme"
    assert double.secret_value("postgresql-host") == SETTINGS["postgresql-host"]


def test_write_with_overwrite_replaces_a_clients_settings(double, principal):
    source = make_source(double, principal)

    source.write({"client-name": "beta", "postgresql-host": "other"}, overwrite=True)

    assert double.secret_value("client-name") == "beta"
    assert double.secret_value("postgresql-host") == "other"
    assert source.read(["client-name"]) == {"client-name": "beta"}


def test_write_to_a_forbidden_vault_names_the_set_permission(double, principal):
    double.forbidden.add(principal[0])
    source = make_source(double, principal)

    with pytest.raises(ConfigSourceError) as raised:
        source.write({"postgresql-host": "other"}, overwrite=True)

    text = assert_one_clean_line(raised.value, principal[1])
    assert text.startswith(f"cannot write Key Vault {double.vault_url}: {principal[0]} may not")
    assert "Key Vault Secrets Officer" in text


# ---------------------------------------------------------------- the double itself


def test_double_issues_a_principals_fixed_token_for_any_scope(double, principal):
    from azure.identity import ClientSecretCredential

    double.fixed_tokens[principal[0]] = "fixed-Token-for-postgres"
    credential = ClientSecretCredential(
        double.tenant_id,
        *principal,
        authority=double.authority_host,
        disable_instance_discovery=True,
        connection_verify=str(double.ca_file),
    )
    try:
        token = credential.get_token("https://ossrdbms-aad.database.windows.net/.default")
    finally:
        credential.close()

    assert token.token == "fixed-Token-for-postgres"
    assert double.tokens[-1].scope == "https://ossrdbms-aad.database.windows.net/.default"
