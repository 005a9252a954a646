"""Fuzz client config values: in-process on ClientConfig, and a few bad TOML files through the job.

`ClientConfig.from_raw` must return a valid config or raise ClientConfigError, whose message is
one line and never holds a secret value; a job given a bad TOML config exits 1 with one Failure.
"""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.files.toml_config import TomlFileConfigSource
from domain.models.client_config import ClientConfig, ClientConfigError
from domain.models.redaction import Redactor
from domain.services.configs import read_client_config
from ports.errors import LtsError
from tests.reliability.conftest import MakeSite
from tests.reliability.tally import TALLY
from tests.reliability.world import SecretLedger
from tests.support.memory_world import client_values

SECRET_KEYS = ("postgresql-secret", "storage-key")
SECRET_MARK = "SeCrEt-"
SAMPLES = {
    "client-name": ["acme", "ACME", "a" * 63, "a" * 64, "-acme"],
    "postgresql-host": ["db.acme.test", "127.0.0.1", "::1"],
    "postgresql-port": ["5432", "0", "65535", "65536", "-1", "5432.0", "1e3", "9" * 5000],
    "postgresql-auth": ["entra", "password", "PASSWORD", "kerberos"],
    "postgresql-sslmode": ["disable", "require", "verify-full", "bogus"],
    "public-key": [base64.b64encode(b"key").decode(), "not base64!", "====", "é"],
    "escrow-public-key": [base64.b64encode(b"escrow").decode(), "%%%"],
    "exclude-databases": ["a,b", ",,,", " , x , "],
    "storage-unc": [
        "file:///srv/share",
        "//host/share",
        "//host/share/sub dir",
        "smb://host/share",
        "file://relative",
        "//host",
    ],
    "end-of-month-retention": ["400", "0", "-5", "x", "1" * 5000],
    "end-of-year-retention": ["3650", "", " 3650 "],
}


def value_for(key: str) -> st.SearchStrategy[str]:
    """Return values for one key: samples, empty, huge, unicode and control characters."""
    anything = st.one_of(
        st.just(""),
        st.text(max_size=40),
        st.text(alphabet=st.characters(codec="utf-8"), max_size=200),
        st.text(alphabet=st.characters(max_codepoint=31), max_size=20),
        st.integers(1_000, 100_000).map(lambda size: "x" * size),
    )
    if key in SECRET_KEYS:
        return st.one_of(st.just(""), anything.map(lambda text: SECRET_MARK + text))
    return st.one_of(st.sampled_from(SAMPLES.get(key, ["value"])), anything)


@st.composite
def raw_configs(draw: st.DrawFn) -> dict[str, str]:
    """Return a valid config with some keys replaced by fuzzed values and some removed."""
    values = client_values(**{"storage-key": SECRET_MARK + "storage"})
    every_key = ClientConfig.keys()
    for key in every_key:
        choice = draw(st.sampled_from(["keep", "keep", "fuzz", "drop"]))
        if choice == "fuzz":
            values[key] = draw(value_for(key))
        elif choice == "drop":
            values.pop(key, None)
    return values


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example],
)
@given(raw=raw_configs())
def test_fuzzed_client_configs_are_valid_or_one_line_errors_without_secrets(
    ledger: SecretLedger, raw: dict[str, str]
) -> None:
    TALLY.inputs["client config values"] += 1
    config: ClientConfig | None = None
    problems: list[str] = []
    try:
        config = ClientConfig.from_raw(raw, "acme")
    except ClientConfigError as error:
        message, problems = str(error), error.problems

    if config is not None:
        assert config.client_name == "acme"
        assert SECRET_MARK not in repr(config)
        return
    assert problems
    assert "\n" not in message, message
    assert "\r" not in message, message
    assert SECRET_MARK not in message


# ---------------------------------------------------------------- client config files


@st.composite
def client_files(draw: st.DrawFn) -> bytes:
    """Return a client config file: a valid one with values and lines changed, or garbage."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=300))
    values = client_values(**{"storage-key": SECRET_MARK + "storage"})
    lines = [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    for _ in range(draw(st.integers(0, 4))):
        position = draw(st.integers(0, len(lines)))
        line = draw(
            st.one_of(
                st.sampled_from(
                    [
                        "[table]",
                        "postgresql-port = 5432",
                        "postgresql-port = inf",
                        "end-of-month-retention = nan",
                        'client-name = ["a"]',
                        "postgresql-host = {a = 1}",
                        'key-name = "a\nb"',
                        'postgresql-host = "db\u0000x"',
                        "\x00",
                        "=",
                        'postgresql-secret = "SeCrEt-"quoted"',
                    ]
                ),
                st.text(max_size=60),
            )
        )
        lines.insert(position, line)
    text = "\n".join(lines) + "\n"
    return text.encode() + (b"\xff" if draw(st.integers(0, 9)) == 0 else b"")


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(content=client_files())
def test_fuzzed_client_config_files_are_read_or_refused_in_one_line(
    config_files: Path, ledger: SecretLedger, content: bytes
) -> None:
    TALLY.inputs["client config file"] += 1
    path = config_files / "acme.toml"
    path.write_bytes(content)
    redactor = Redactor()
    try:
        read_client_config(TomlFileConfigSource(f"file://{path}"), "acme", redactor)
    except (ClientConfigError, LtsError) as error:
        message = redactor.redact(str(error))
        assert "\n" not in message, message
        assert SECRET_MARK not in message, message
        ledger.add_text("fuzzed client config file error", message)


@pytest.fixture(scope="module")
def config_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("client-configs")


# ---------------------------------------------------------------- bad TOML through the job

BAD_FILES = {
    "unterminated string": b'client-name = "acme\npostgresql-secret = "{secret}"\n',
    "not UTF-8": b'client-name = "acme"\npostgresql-secret = "{secret}\xff"\n',
    "a table where a value belongs": b'client-name = "acme"\npostgresql-secret = "{secret}"\n'
    b'[postgresql-host]\nname = "db"\n',
    "bad values everywhere": b'client-name = "Acme!"\npostgresql-port = "port"\n'
    b'postgresql-secret = "{secret}"\npublic-key = "***"\nstorage-unc = "ftp://x"\n'
    b'end-of-month-retention = "many"\n',
    "empty file": b"",
    "NUL bytes": b'client-name = "acme"\x00\npostgresql-secret = "{secret}"\n',
}


@pytest.mark.integration
@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_toml_client_config_is_exit_1_and_one_failure_line(
    case: str, make_site: MakeSite
) -> None:
    secret = "toml-secret-" + secrets.token_urlsafe(16)
    site = make_site(secret)
    path = site.root / "configs" / "acme.toml"
    path.write_bytes(BAD_FILES[case].replace(b"{secret}", secret.encode()))
    path.chmod(0o600)

    result = site.run("backup", "acme", "6", f"file://{path}", "-", "-")

    TALLY.inputs["client config file through a job"] += 1
    assert result.code == 1, result.stdout + result.stderr
    [failure] = result.failures
    assert failure.startswith("Failure: read_config acme "), failure
    assert result.stderr == ""
    assert "Traceback" not in result.stdout
    assert secret not in result.stdout
