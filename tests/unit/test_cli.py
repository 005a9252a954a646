"""`lts <job>` dispatches to every job's module."""

import importlib

import pytest

from entrypoints import cli


def test_every_listed_job_has_a_module_with_main():
    for job in cli.JOBS:
        assert callable(importlib.import_module(f"entrypoints.{job}").main)


def test_lts_without_a_job_lists_the_jobs(capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main([])
    assert exited.value.code == 0
    assert "create_client" in capsys.readouterr().err


def test_an_unknown_job_exits_two(capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["nonsense"])
    assert exited.value.code == 2


def test_a_job_is_run_with_the_remaining_arguments(capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["backup", "--help"])
    assert exited.value.code == 0
    assert "EOY_MONTH" in capsys.readouterr().out
