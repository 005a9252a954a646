"""Tests of the job's log file: placement, permissions, run separator, masking, JSON lines."""

from __future__ import annotations

import json
import logging
import stat
from logging.handlers import TimedRotatingFileHandler

import pytest

from adapters.os.logging import (
    RUN_SEPARATOR,
    close_client_logging,
    configure_client_logging,
)
from domain.models.redaction import MASK, Redactor
from ports.errors import ConfigError

PASSWORD = "pg-Passw0rd-xyzzy"
TOKEN = "late-token-4711-abc"


def file_handlers():
    """Return the "lts" logger's handlers but the NullHandler the domain package installs."""
    return [h for h in logging.getLogger("lts").handlers if not isinstance(h, logging.NullHandler)]


@pytest.fixture(autouse=True)
def _close_logging():
    yield
    close_client_logging()


@pytest.fixture
def redactor() -> Redactor:
    return Redactor([PASSWORD])


def configure(tmp_path, redactor, *, json_lines=False, level="INFO", job="backup"):
    return configure_client_logging(tmp_path / "logs", "acme", job, level, 30, json_lines, redactor)


def flush() -> None:
    for handler in logging.getLogger("lts").handlers:
        handler.flush()


def test_log_file_is_placed_per_client_and_job_with_private_permissions(tmp_path, redactor):
    path = configure(tmp_path, redactor)
    assert path == tmp_path / "logs" / "acme" / "backup.log"
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "logs").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "logs" / "acme").stat().st_mode) == 0o700


def test_each_run_starts_with_a_line_of_asterisks(tmp_path, redactor):
    path = configure(tmp_path, redactor)
    logging.getLogger("lts.backup").info("first run")
    configure(tmp_path, redactor)
    logging.getLogger("lts.backup").info("second run")
    flush()
    lines = path.read_text().splitlines()
    assert [line.endswith(RUN_SEPARATOR) for line in lines] == [True, False, True, False]
    assert lines[1].endswith("INFO lts.backup first run")


def test_run_separator_is_written_even_when_the_level_hides_info(tmp_path, redactor):
    path = configure(tmp_path, redactor, level="ERROR")
    logging.getLogger("lts").warning("hidden")
    flush()
    assert path.read_text().splitlines()[0].endswith(RUN_SEPARATOR)
    assert "hidden" not in path.read_text()


def test_lines_hold_time_level_logger_and_message(tmp_path, redactor):
    path = configure(tmp_path, redactor)
    logging.getLogger("lts.machine").warning("node %s took %.1f s", "dump", 2.5)
    flush()
    time, level, logger, message = path.read_text().splitlines()[-1].split(" ", 3)
    assert time.endswith("+00:00")
    assert (level, logger, message) == ("WARNING", "lts.machine", "node dump took 2.5 s")


def test_secrets_are_masked_in_messages_and_arguments(tmp_path, redactor):
    path = configure(tmp_path, redactor)
    log = logging.getLogger("lts.dumper")
    log.info(f"connecting with password {PASSWORD}")  # noqa: G004 - the secret in the message
    log.info("running %s", ["pg_dump", f"--password={PASSWORD}"])
    flush()
    text = path.read_text()
    assert PASSWORD not in text
    assert f"INFO lts.dumper connecting with password {MASK}\n" in text
    assert f"INFO lts.dumper running ['pg_dump', '--password={MASK}']\n" in text


def test_a_secret_registered_after_configuration_is_masked_too(tmp_path, redactor):
    path = configure(tmp_path, redactor)
    redactor.add(TOKEN)
    logging.getLogger("lts").info("got token %s", TOKEN)
    flush()
    assert TOKEN not in path.read_text()
    assert f"got token {MASK}" in path.read_text()


def test_secrets_inside_exception_tracebacks_are_masked(tmp_path, redactor):
    path = configure(tmp_path, redactor)
    try:
        raise ConnectionError(f"login failed for password {PASSWORD}")
    except ConnectionError:
        logging.getLogger("lts").exception("cannot connect")
    try:
        raise ValueError(PASSWORD)
    except ValueError:
        logging.getLogger("lts").exception("with stack", stack_info=True)
    flush()
    text = path.read_text()
    assert "Traceback (most recent call last)" in text
    assert f"ConnectionError: login failed for password {MASK}" in text
    assert PASSWORD not in text


def test_vendor_warnings_go_to_the_same_file_masked_and_their_debug_lines_do_not(
    tmp_path, redactor
):
    path = configure(tmp_path, redactor, level="DEBUG")
    logging.getLogger("azure.identity").warning("token request failed: %s", PASSWORD)
    logging.getLogger("azure.core").debug("request headers")
    logging.getLogger("psycopg.pool").warning("pool warning")
    flush()
    text = path.read_text()
    assert f"WARNING azure.identity token request failed: {MASK}" in text
    assert "request headers" not in text
    assert "WARNING psycopg.pool pool warning" in text


def test_configuring_twice_writes_each_line_once(tmp_path, redactor):
    configure(tmp_path, redactor)
    path = configure(tmp_path, redactor)
    logging.getLogger("lts").info("only once")
    logging.getLogger("azure").warning("vendor once")
    flush()
    text = path.read_text()
    assert text.count("only once") == 1
    assert text.count("vendor once") == 1
    assert len(file_handlers()) == 1


def test_nothing_is_written_to_stdout_or_stderr(tmp_path, redactor, capsys):
    configure(tmp_path, redactor)
    logging.getLogger("lts").error("for the file only")
    logging.getLogger("azure").error("vendor error")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ""


def test_json_mode_writes_one_json_object_a_line(tmp_path, redactor):
    path = configure(tmp_path, redactor, json_lines=True)
    logging.getLogger("lts.backup").info("dumped %s", "sales")
    try:
        raise RuntimeError(PASSWORD)
    except RuntimeError:
        logging.getLogger("lts.backup").exception("failed")
    flush()
    assert PASSWORD not in path.read_text()
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    assert [entry["message"] for entry in entries] == [RUN_SEPARATOR, "dumped sales", "failed"]
    assert entries[1]["level"] == "INFO"
    assert entries[1]["logger"] == "lts.backup"
    assert entries[1]["time"].endswith("+00:00")
    assert entries[2]["exception"].endswith(f"RuntimeError: {MASK}")


def test_a_rolled_over_log_file_keeps_private_permissions(tmp_path, redactor):
    path = configure(tmp_path, redactor)
    logging.getLogger("lts").info("before midnight")
    (handler,) = file_handlers()
    assert isinstance(handler, TimedRotatingFileHandler)
    handler.doRollover()
    logging.getLogger("lts").info("after midnight")
    flush()
    files = sorted((tmp_path / "logs" / "acme").iterdir())
    assert len(files) == 2
    for file in files:
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert "after midnight" in path.read_text()


def test_a_client_name_that_is_not_a_safe_path_component_is_refused(tmp_path, redactor):
    with pytest.raises(ConfigError, match="client name"):
        configure_client_logging(tmp_path, "../acme", "backup", "INFO", 30, False, redactor)


def test_an_unknown_level_is_refused(tmp_path, redactor):
    with pytest.raises(ValueError, match="unknown logging level"):
        configure(tmp_path, redactor, level="LOUD")


def test_a_log_root_that_cannot_be_created_gives_a_clear_error(tmp_path, redactor):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigError, match=r"^cannot open the log file .*backup\.log \("):
        configure_client_logging(blocker, "acme", "backup", "INFO", 30, False, redactor)


SHIPPED = ("domain", "ports", "adapters", "entrypoints")


def logger_names(root):
    """Yield (file, line, first argument) of every logging.getLogger call under `root`."""
    import ast
    from pathlib import Path

    for path in sorted(Path(root).rglob("*.py")):
        tree = ast.parse(path.read_text())
        for call in ast.walk(tree):
            if (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "getLogger"
            ):
                argument = call.args[0] if call.args else None
                yield f"{path}:{call.lineno}", argument


def test_every_shipped_logger_is_in_the_lts_tree():
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    outside = []
    for package in SHIPPED:
        for where, argument in logger_names(repo / package):
            if isinstance(argument, __import__("ast").Constant):
                if not str(argument.value).startswith("lts"):
                    outside.append(f"{where} {argument.value!r}")
            elif where.split(":")[0].endswith(
                ("adapters/os/logging.py", "adapters/azure/key_vault.py")
            ):
                continue  # they configure the tree and the vendor loggers by name
            else:
                outside.append(f"{where} a computed name")
    assert outside == []


def test_nothing_logged_before_the_client_log_reaches_stderr(capfd):
    import subprocess
    import sys
    from pathlib import Path

    code = "import domain, logging; logging.getLogger('lts.files').warning('secret-ish warning')"
    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=True
    )
    assert out.stderr == ""
