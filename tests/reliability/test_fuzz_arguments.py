"""Fuzz the jobs' command lines in-process: never a traceback, always one line or a valid parse.

`main(argv)` of backup, retention and list is called with generated argument lists. A valid
line reaches `run_job`, replaced here by a recorder so no job runs; anything else must end in
SystemExit 2 with exactly one `<job>: error: ...` line on stderr (or `--help`, exit 0).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Sequence
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import entrypoints.container
from entrypoints import backup, retention
from entrypoints import list as list_job
from entrypoints.requests import JobRequest
from tests.reliability.world import SecretLedger

JOBS: dict[str, ModuleType] = {"backup": backup, "retention": retention, "list": list_job}
FLAGS = {
    "backup": [],
    "retention": ["--dry-run", "--dry_run"],
    "list": ["--json"],
}
TOKENS = [
    "acme",
    "Acme",
    "-acme",
    "a" * 64,
    "6",
    "0",
    "13",
    "-1",
    " 6",
    "file:///etc/lts/acme.toml",
    "file://relative.toml",
    "https://acme.vault.azure.net",
    "https://acme.vault.azure.net/",
    "http://acme.vault.azure.net",
    "ftp://x",
    "-",
    "--",
    "gAAAAABtoken",
    "--tenant_id",
    "--tenant-id=t",
    "--authority_host",
    "--authority_host=http://login.example",
    "--authority-host=https://login.example",
    "--unknown",
    "-x",
    "",
    "\x00",
    "é",
    "\n",
]
HELP = ("-h", "--h", "--he", "--hel", "--help")


def valid_line(job: str) -> list[str]:
    """Return a command line the job accepts."""
    eoy = ["6"] if job == "backup" else []
    return ["acme", *eoy, "file:///etc/lts/acme.toml", "-", "-"]


def arguments(job: str) -> st.SearchStrategy[list[str]]:
    """Return argument lists: random token lists, and valid lines with one token changed or added.

    The second kind reaches the checks that follow a valid parse (extra arguments, option values,
    combinations), which random lists almost never do.
    """
    token = st.one_of(
        st.sampled_from(TOKENS + FLAGS[job]),
        st.text(max_size=30),
        st.text(alphabet=st.characters(codec="utf-8"), max_size=80),
    )
    base = valid_line(job)

    def mutate(position: int, value: str, replace: bool) -> list[str]:
        line = list(base)
        if replace and position < len(line):
            line[position] = value
        else:
            line.insert(min(position, len(line)), value)
        return line

    mutated = st.builds(mutate, st.integers(0, len(base)), token, st.booleans())
    extended = st.builds(lambda extra: base + extra, st.lists(token, min_size=1, max_size=3))
    return st.one_of(st.lists(token, max_size=9), mutated, extended)


def call_main(job: str, argv: Sequence[str]) -> tuple[int | str | None, str, str, list[JobRequest]]:
    """Run `<job>.main(argv)`; return (exit code or None, stdout, stderr, parsed runs)."""
    parsed: list[JobRequest] = []

    stdout, stderr = io.StringIO(), io.StringIO()
    code: int | str | None = None
    with (
        pytest.MonkeyPatch.context() as patched,
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(stderr),
    ):
        patched.setattr(entrypoints.container, "run_job", parsed.append)
        try:
            JOBS[job].main(list(argv))
        except SystemExit as exited:
            code = exited.code
    return code, stdout.getvalue(), stderr.getvalue(), parsed


def check(job: str, argv: list[str], ledger: SecretLedger) -> None:
    """Assert the outcome of one command line is a valid parse, one error line, or help."""
    code, stdout, stderr, parsed = call_main(job, argv)
    ledger.add_text(f"{job} fuzzed stderr", stderr)
    if code is None:
        assert (stdout, stderr) == ("", "")
        [request] = parsed
        assert request.client_name
        assert request.config.url
        return
    assert parsed == []
    if code == 0:
        assert any(arg.startswith(HELP) for arg in argv), (argv, stdout)
        assert stderr == ""
        return
    assert code == 2, (argv, code, stderr)
    assert stdout == ""
    assert stderr.count("\n") == 1, (argv, stderr)
    assert stderr.endswith("\n"), (argv, stderr)
    assert stderr.startswith(f"{job}: error: "), (argv, stderr)


def fuzz(job: str) -> Callable[..., None]:
    """Return a hypothesis test of one job's command line."""

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(argv=arguments(job))
    def test(ledger: SecretLedger, argv: list[str]) -> None:
        check(job, argv, ledger)

    return test


test_backup_command_lines_parse_or_fail_with_one_line_and_exit_2 = fuzz("backup")
test_retention_command_lines_parse_or_fail_with_one_line_and_exit_2 = fuzz("retention")
test_list_command_lines_parse_or_fail_with_one_line_and_exit_2 = fuzz("list")


@pytest.mark.parametrize("job", sorted(JOBS))
def test_a_valid_command_line_reaches_the_job_with_its_values(
    job: str, ledger: SecretLedger
) -> None:
    argv = [*valid_line(job), "--tenant_id", "t1"]

    code, stdout, stderr, [args] = call_main(job, argv)

    assert (code, stdout, stderr) == (None, "", "")
    assert (args.client_name, args.config.url, args.tenant_id) == (
        "acme",
        "file:///etc/lts/acme.toml",
        "t1",
    )


@pytest.mark.parametrize("job", sorted(JOBS))
def test_the_client_secret_is_not_echoed_when_the_line_is_bad(
    job: str, ledger: SecretLedger
) -> None:
    token = "gAAAAAB-fuzz-secret-token-value"
    ledger.add_secrets(token)
    eoy = ["13"] if job == "backup" else []
    argv = ["acme", *eoy, "https://acme.vault.azure.net", "app-id", token, "--bogus"]

    code, _, stderr, _ = call_main(job, argv)

    ledger.add_text(f"{job} stderr of a bad line with a secret", stderr)
    assert code == 2
    assert token not in stderr


@pytest.mark.parametrize("job", sorted(JOBS))
@pytest.mark.parametrize("extra", ["\n", "a\nb", "\r", "x\x1b[2Jy"])
def test_an_extra_argument_with_control_characters_is_still_one_error_line(
    job: str, extra: str, ledger: SecretLedger
) -> None:
    code, stdout, stderr, parsed = call_main(job, [*valid_line(job), extra])

    assert (code, stdout, parsed) == (2, "", [])
    assert stderr.startswith(f"{job}: error: unrecognized arguments: ")
    assert stderr.count("\n") == 1, repr(stderr)
    assert stderr.endswith("\n"), repr(stderr)
    assert "\r" not in stderr, repr(stderr)
    assert "\x1b" not in stderr, repr(stderr)
