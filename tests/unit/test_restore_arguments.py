"""The restore config model, the restore jobs' command lines and their container wiring."""

import base64
from typing import Any

import pytest
from pydantic import SecretStr

from adapters.files.toml_config import TomlFileConfigSource
from adapters.memory.config_source import InMemoryConfigSource
from domain.framework.endpoints import DynamicMountingEndPoint
from domain.models.restore_config import RestoreConfig, RestoreConfigError
from domain.models.restore_request import RunChoice, RunChoiceKind
from entrypoints import decrypt, restore, verify
from entrypoints.container import Container
from entrypoints.settings import load_settings

BASE = ["acme", "file:///etc/acme.toml", "-", "-"]


def test_a_restore_config_decodes_the_key_and_keeps_secrets_secret():
    key = b"-----BEGIN PGP PRIVATE KEY BLOCK-----\n"
    config = RestoreConfig.from_raw(
        {"private-key": base64.b64encode(key).decode(), "private-key-passphrase": "p4ss-word"}
    )
    assert config.key_bytes == key
    assert isinstance(config.private_key_passphrase, SecretStr)
    assert "p4ss-word" not in repr(config)
    assert config.backup_config_host is None


def test_a_restore_config_reports_every_problem_at_once_without_values():
    with pytest.raises(RestoreConfigError) as caught:
        RestoreConfig.from_raw({"private-key": "not base64!"})
    assert caught.value.problems == [
        "private-key: is not valid base64",
        "private-key-passphrase is missing",
    ]
    assert "not base64!" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "kind"), [("latest", RunChoiceKind.LATEST), ("20261128T220000Z", RunChoiceKind.ONE)]
)
def test_run_choices_parse(text, kind):
    assert RunChoice.parse(text).kind is kind
    assert str(RunChoice.parse(text)) == text


def test_all_is_a_run_choice_only_where_allowed():
    assert RunChoice.parse("all", allow_all=True).kind is RunChoiceKind.ALL
    with pytest.raises(ValueError, match="--run must be a run id"):
        RunChoice.parse("all")


def test_the_restore_command_line_parses_every_option():
    args = restore.parser().parse_args(
        [
            *BASE,
            "--restore-vault",
            "file:///etc/acme-restore.toml",
            "--database",
            "sales",
            "--run",
            "20261128T220000Z",
            "--target-database",
            "sales_copy",
            "--target-host",
            "db2",
            "--target-port",
            "5433",
            "--target-user",
            "dba",
            "--jobs",
            "4",
            "--clean",
            "--keep-owners",
            "--globals",
        ]
    )
    assert (args.jobs, args.target_port, args.clean, args.keep_owners, args.globals) == (
        4,
        5433,
        True,
        True,
        True,
    )
    assert str(args.run) == "20261128T220000Z"


@pytest.mark.parametrize(
    "extra",
    [
        ["--database", "sales", "--target-database", "x"],
        ["--restore-vault", "file:///r.toml", "--target-database", "x"],
        [
            "--restore-vault",
            "file:///r.toml",
            "--database",
            "s",
            "--target-database",
            "x",
            "--jobs",
            "0",
        ],
        [
            "--restore-vault",
            "file:///r.toml",
            "--database",
            "s",
            "--target-database",
            "x",
            "--run",
            "yesterday",
        ],
        ["--restore-vault", "ftp://r", "--database", "s", "--target-database", "x"],
    ],
)
def test_bad_restore_command_lines_exit_two_with_one_line(extra, capsys):
    with pytest.raises(SystemExit) as caught:
        restore.main([*BASE, *extra])
    assert caught.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_an_https_restore_vault_needs_a_service_principal(capsys):
    with pytest.raises(SystemExit):
        verify.main([*BASE, "--restore-vault", "https://r.vault.azure.net"])
    assert "--restore-client-id" in capsys.readouterr().err


def test_decrypt_and_verify_parse():
    args = decrypt.parser().parse_args(
        [*BASE, "--restore-vault", "file:///r.toml", "--database", "s", "--output", "o", "--sql"]
    )
    assert args.sql
    assert verify.parser().parse_args([*BASE, "--run", "all"]).restore_vault is None


JOBS = {
    "restore": (
        restore,
        ["--restore-vault", "file:///r.toml", "--database", "sales", "--target-database", "copy"],
    ),
    "decrypt": (decrypt, ["--database", "sales", "--output", "out"]),
    "verify": (verify, []),
}


def request_for(job, argv, monkeypatch):
    """Parse a job's command line as its entry point does; return the request it would run."""
    seen: list[Any] = []
    monkeypatch.setattr("entrypoints.container.run_job", seen.append)
    module, required = JOBS[job]
    module.main([*BASE, *required, *argv])
    (request,) = seen
    return request


def container_for(job, tmp_path, monkeypatch, *argv):
    container = Container(request=request_for(job, list(argv), monkeypatch))
    container.settings.override(load_settings({"LTS_CONFIG": str(tmp_path / "absent.toml")}))
    return container


@pytest.mark.parametrize("job", ["restore", "decrypt", "verify"])
def test_every_restore_end_point_resolves(job, tmp_path, monkeypatch):
    vault = [] if job == "restore" else ["--restore-vault", "file:///r.toml"]
    container = container_for(job, tmp_path, monkeypatch, *vault)
    container.config_source.override(InMemoryConfigSource({}))
    assert isinstance(getattr(container, f"{job}_end_point")(), DynamicMountingEndPoint)


def test_the_restore_source_is_chosen_by_scheme_and_absent_without_a_vault(tmp_path, monkeypatch):
    assert container_for("verify", tmp_path, monkeypatch).restore_source() is None
    file_source = container_for(
        "verify", tmp_path, monkeypatch, "--restore-vault", "file:///r.toml"
    ).restore_source()
    assert isinstance(file_source, TomlFileConfigSource)
    from adapters.azure.key_vault import KeyVaultConfigSource

    request = request_for(
        "verify",
        [
            "--restore-vault",
            "https://r.vault.azure.net",
            "--restore-client-id",
            "restore-app",
            "--restore-client-secret",
            "token",
        ],
        monkeypatch,
    )
    assert request.restore.client_id == "restore-app"
    assert request.restore.client_secret == "token"
    container = Container(request=request)
    container.settings.override(load_settings({"LTS_CONFIG": str(tmp_path / "absent.toml")}))
    vault = container.restore_source()
    assert isinstance(vault, KeyVaultConfigSource)
    assert vault.client_id == "restore-app"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('["first, with a comma", "second"]', ["first, with a comma", "second"]),
        ("first\nsecond\n", ["first", "second"]),
        ("first\r\nsecond", ["first", "second"]),
        ("first,second", ["first", "second"]),
    ],
)
def test_several_passphrases_are_a_json_list_or_one_per_line_or_comma_joined(value, expected):
    key = base64.b64encode(b"two keys").decode()
    config = RestoreConfig.from_raw({"private-key": key, "private-key-passphrases": value})
    assert [p.get_secret_value() for p in config.passphrases.for_keys(2)] == expected
    assert "first" not in repr(config)


def test_a_toml_array_of_passphrases_reaches_the_config_as_a_list(tmp_path):
    from adapters.files.toml_config import TomlFileConfigSource

    path = tmp_path / "restore.toml"
    key = base64.b64encode(b"two keys").decode()
    path.write_text(f'private-key = "{key}"\nprivate-key-passphrases = ["old one", "new one"]\n')
    path.chmod(0o600)
    raw = TomlFileConfigSource(f"file://{path}").read(RestoreConfig.keys())
    config = RestoreConfig.from_raw(raw)
    assert [p.get_secret_value() for p in config.passphrases.for_keys(2)] == ["old one", "new one"]


def test_a_passphrase_list_that_is_not_json_is_one_line_without_values():
    key = base64.b64encode(b"key").decode()
    with pytest.raises(RestoreConfigError) as caught:
        RestoreConfig.from_raw({"private-key": key, "private-key-passphrases": '["secret-1", 2]'})
    assert caught.value.problems == [
        "private-key-passphrases: is not a JSON list of strings: store it as one string, "
        '["first", "second"]'
    ]
    assert "secret-1" not in str(caught.value)
