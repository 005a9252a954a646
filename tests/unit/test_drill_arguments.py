"""The drill job's command line (exactly as issue 13 gives it) and its container wiring."""

from typing import Any

import pytest

from adapters.memory.config_source import InMemoryConfigSource
from domain.framework.endpoints import DynamicMountingEndPoint
from domain.models.restore_config import same_store
from domain.models.restore_request import RunChoiceKind
from entrypoints import cli, drill
from entrypoints.container import Container
from entrypoints.settings import load_settings

BASE = ["acme", "file:///etc/acme.toml", "-", "-", "--restore-vault", "file:///r.toml"]


def request_for(argv, monkeypatch):
    seen: list[Any] = []
    monkeypatch.setattr("entrypoints.container.run_job", seen.append)
    drill.main(argv)
    (request,) = seen
    return request


def test_the_drill_command_line_parses_every_option(monkeypatch):
    request = request_for(
        [
            *BASE, "--run", "20261128T220000Z", "--target-host", "scratch.db",
            "--target-port", "5433", "--target-user", "dba",
            "--database", "sales", "--database", "hr", "sales", "crm",
        ],
        monkeypatch,
    )  # fmt: skip
    assert request.job == "drill"
    drill_request = request.request
    assert drill_request.run.kind is RunChoiceKind.ONE
    assert (drill_request.target_host, drill_request.target_port, drill_request.target_user) == (
        "scratch.db",
        5433,
        "dba",
    )
    assert drill_request.databases == ("sales", "hr", "crm")


def test_the_defaults_drill_the_latest_run_and_every_database(monkeypatch):
    request = request_for([*BASE, "--target-host", "scratch.db"], monkeypatch).request
    assert request.run.kind is RunChoiceKind.LATEST
    assert (request.databases, request.target_port, request.target_user) == ((), None, None)


@pytest.mark.parametrize(
    "argv",
    [
        ["acme", "file:///etc/acme.toml", "-", "-", "--target-host", "h"],
        [*BASE],
        [*BASE, "--target-host", " "],
        [*BASE, "--target-host", "h", "--run", "all"],
        [*BASE, "--target-host", "h", "--target-port", "70000"],
        [*BASE, "--target-host", "h", "--database"],
    ],
)
def test_bad_drill_command_lines_exit_two_with_one_line(argv, capsys):
    with pytest.raises(SystemExit) as caught:
        drill.main(argv)
    assert caught.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_the_drill_end_point_resolves(tmp_path, monkeypatch):
    container = Container(request=request_for([*BASE, "--target-host", "h"], monkeypatch))
    container.settings.override(load_settings({"LTS_CONFIG": str(tmp_path / "absent.toml")}))
    container.config_source.override(InMemoryConfigSource({}))
    assert isinstance(container.drill_end_point(), DynamicMountingEndPoint)


def test_lts_knows_the_drill_job():
    assert "drill" in cli.JOBS


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("https://kv-acme.vault.azure.net", "HTTPS://KV-Acme.vault.azure.net/", True),
        ("file:///etc/lts/acme.toml", "file:///etc/lts/./x/../acme.toml", True),
        ("file:///etc/lts/acme.toml", "file:///etc/lts/other.toml", False),
        ("https://kv-acme.vault.azure.net", "https://kv-other.vault.azure.net", False),
        ("https://kv-acme.vault.azure.net", "file:///kv-acme.vault.azure.net", False),
    ],
)
def test_config_stores_compare_by_what_they_name(first, second, same):
    assert same_store(first, second) is same
