"""The pure parts of adapters.process: one safe line, a child's environment, failure sentences."""

import signal

import pytest

from adapters.process import ChildFailure, Stage, child_env, inherited_env, one_line
from adapters.process.text import MAX_REASON_LENGTH
from domain.models.redaction import MASK, Redactor


def test_one_line_joins_lines_collapses_spaces_and_masks_secrets():
    text = b"pg_dump: error:  connection  failed\n\n  password s3cret-value rejected \n"

    assert one_line(text, Redactor(["s3cret-value"])) == (
        f"pg_dump: error: connection failed; password {MASK} rejected"
    )


def test_one_line_keeps_the_end_of_a_long_text_where_the_fatal_error_is():
    text = "warning\n" * 200 + "FATAL: the real reason"

    line = one_line(text, Redactor())

    assert len(line) == MAX_REASON_LENGTH
    assert line.startswith("...")
    assert line.endswith("FATAL: the real reason")


def test_one_line_decodes_invalid_utf8_leniently():
    assert one_line(b"caf\xe9", Redactor()) == "caf\ufffd"


def test_inherited_env_keeps_only_the_named_variables_that_are_set(monkeypatch):
    monkeypatch.setenv("PGPASSWORD", "leak")
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.delenv("TMPDIR", raising=False)

    env = inherited_env()

    assert "PGPASSWORD" not in env
    assert env["TZ"] == "UTC"
    assert "TMPDIR" not in env
    assert inherited_env(["TZ"]) == {"TZ": "UTC"}


def test_child_env_adds_to_a_copy():
    base = {"PATH": "/bin"}

    env = child_env(base, LC_ALL="C")

    assert env == {"PATH": "/bin", "LC_ALL": "C"}
    assert base == {"PATH": "/bin"}


@pytest.mark.parametrize(
    ("returncode", "detail", "message"),
    [
        (1, "permission denied", "pg_dump exited with 1: permission denied"),
        (2, "", "pg_dump exited with 2"),
        (-signal.SIGKILL, "", "pg_dump was killed by signal SIGKILL"),
        (-signal.SIGTERM, "bye", "pg_dump was killed by signal SIGTERM: bye"),
        (-200, "", "pg_dump was killed by signal 200"),
    ],
)
def test_a_child_failure_says_how_the_child_ended(returncode, detail, message):
    assert ChildFailure.exited("pg_dump", returncode, detail).message == message


@pytest.mark.parametrize(
    ("returncode", "detail", "consequence"),
    [
        (-signal.SIGPIPE, "", True),
        (141, "", True),
        (1, "pg_dump: error: could not write to output file: Broken pipe", True),
        (1, "pg_dump: error: permission denied", False),
        (-signal.SIGKILL, "", False),
    ],
)
def test_a_broken_pipe_marks_a_failure_caused_by_a_reader_that_went_away(
    returncode, detail, consequence
):
    assert ChildFailure.exited("pg_dump", returncode, detail).broken_pipe is consequence


def test_a_stage_masks_its_command_line_and_its_stderr():
    redactor = Redactor(["topsecret"])
    stage = Stage(
        ("tool", "--token=topsecret"), {}, "tool", lambda f: RuntimeError(f.message), redactor
    )

    assert stage.shown == f"tool --token={MASK}"
    assert stage.failure(3, b"bad topsecret\n").message == f"tool exited with 3: bad {MASK}"
    assert stage.error(stage.no_output()).args == ("tool produced no output",)
