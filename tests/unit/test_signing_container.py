"""The container wires signing, verify --logs and the rekey job; their arguments."""

from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from adapters.gpg.signing import GpgSigner
from adapters.gpg.verifying import GpgSignatureChecker
from adapters.memory.signer import InMemorySignatureChecker, InMemorySigner
from domain.framework.endpoints import DynamicMountingEndPoint
from domain.models.restore_request import RekeyRequest, RunChoiceKind
from entrypoints import rekey, verify
from entrypoints.container import Container, run_job
from entrypoints.requests import ConfigStore, RekeyJob
from entrypoints.settings import SettingsError, load_settings
from tests.support.rekey_world import NEW_KEY, RekeyWorld


def settings(tmp_path: Path, **extra: str):
    return load_settings(
        {
            "LTS_PATHS__LOG_ROOT": str(tmp_path / "logs"),
            "LTS_PATHS__WORK_ROOT": str(tmp_path / "work"),
            "LTS_CONFIG": str(tmp_path / "absent.toml"),
            **extra,
        }
    )


def rekey_request(**extra: Any) -> RekeyJob:
    store = ConfigStore(url="file:///srv/acme.toml", client_id="-", client_secret="-")
    restore = ConfigStore(url="file:///nowhere/restore.toml", client_id="-", client_secret="-")
    values: dict[str, Any] = {
        "client_name": "acme",
        "config": store,
        "restore": restore,
        "request": RekeyRequest(),
    }
    values.update(extra)
    return RekeyJob(**values)


def test_signing_is_wired_only_when_the_master_config_names_a_key(tmp_path):
    container = Container(request=rekey_request())
    container.settings.override(settings(tmp_path))
    assert container.signer() is None
    assert container.signature_checker() is None
    assert container.signing_policy().require is False
    signed = Container(request=rekey_request())
    signed.settings.override(
        settings(
            tmp_path,
            LTS_SIGNING__KEY_FILE=str(tmp_path / "signing.asc"),
            LTS_SIGNING__TRUSTED_KEYS=f"{tmp_path}/a.asc,{tmp_path}/b.asc",
            LTS_SIGNING__REQUIRE="true",
        )
    )
    assert isinstance(signed.signer(), GpgSigner)
    assert isinstance(signed.signature_checker(), GpgSignatureChecker)
    assert signed.signing_policy().require is True


def test_requiring_signatures_without_trusted_keys_is_a_settings_error(tmp_path):
    with pytest.raises(SettingsError, match="require = true needs trusted_keys"):
        settings(tmp_path, LTS_SIGNING__REQUIRE="true")


def test_a_host_with_a_signing_key_checks_signatures_with_it_alone(tmp_path):
    container = Container(request=rekey_request())
    container.settings.override(
        settings(
            tmp_path,
            LTS_SIGNING__KEY_FILE=str(tmp_path / "signing.asc"),
            LTS_SIGNING__REQUIRE="true",
        )
    )
    assert isinstance(container.signature_checker(), GpgSignatureChecker)


def test_a_rekey_runs_through_the_container_with_in_memory_adapters(tmp_path):
    world = RekeyWorld(signed=True)
    request = rekey_request()
    container = Container(request=request)
    container.settings.override(settings(tmp_path))
    container.console.override(world.backup.console)
    container.exit.override(world.backup.exit)
    container.clock.override(world.backup.clock)
    container.config_source.override(world.backup.source)
    container.restore_source.override(world.restore.restore_source)
    container.share_opener.override(world.backup.opener)
    container.lock.override(world.lock)
    container.encryptor.override(world.encryptor)
    container.decryptor.override(world.decryptor)
    container.signer.override(InMemorySigner())
    container.signature_checker.override(InMemorySignatureChecker())
    assert isinstance(container.rekey_end_point(), DynamicMountingEndPoint)
    world.backup.console.lines.clear()
    run_job(request, container=container)
    assert world.backup.exit.code == 0, world.backup.console.lines
    assert world.backup.console.lines == [
        "rekey acme: 2 runs re-encrypted (8 files), 0 finished, 0 already on the current key, "
        "0 failures"
    ]
    assert all(world.manifest(run).key_fingerprint == NEW_KEY for run in world.runs_on_share())
    assert PurePosixPath("rekey.jsonl") in world.share.files


def test_rekey_takes_a_run_or_all_and_a_dry_run_and_needs_the_restore_vault(capsys):
    parsed = rekey.parser().parse_args(
        ["acme", "file:///c.toml", "-", "-", "--restore-vault", "file:///r.toml"]
    )
    assert (parsed.run.kind, parsed.dry_run) == (RunChoiceKind.ALL, False)
    parsed = rekey.parser().parse_args(
        [
            "acme",
            "file:///c.toml",
            "-",
            "-",
            "--restore-vault",
            "file:///r.toml",
            "--run",
            "20261128T220000Z",
            "--dry-run",
        ]
    )
    assert (str(parsed.run), parsed.dry_run) == ("20261128T220000Z", True)
    with pytest.raises(SystemExit) as raised:
        rekey.parser().parse_args(["acme", "file:///c.toml", "-", "-"])
    assert raised.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "rekey: error: the following arguments are required: --restore-vault/--restore_vault"
    ]


def test_verify_logs_alone_checks_no_run_and_with_run_checks_both(monkeypatch):
    seen: list[Any] = []
    monkeypatch.setattr("entrypoints.container.run_job", seen.append)
    verify.main(["acme", "file:///c.toml", "-", "-", "--logs"])
    verify.main(["acme", "file:///c.toml", "-", "-", "--logs", "--run", "all"])
    verify.main(["acme", "file:///c.toml", "-", "-"])
    logs_only, both, runs_only = (job.request for job in seen)
    assert (logs_only.logs, logs_only.runs) == (True, False)
    assert (both.logs, both.runs, str(both.run)) == (True, True, "all")
    assert (runs_only.logs, runs_only.runs, str(runs_only.run)) == (False, True, "latest")
