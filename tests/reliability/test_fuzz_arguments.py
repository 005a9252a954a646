"""Fuzz every job's command line in-process: never a traceback, always one line or a valid parse.

`main(argv)` of every job (and of the `lts` dispatcher) is called with generated argument lists:
random tokens, and valid lines with one token changed or added. A valid line reaches `run_job`
(or `run_tool`), replaced here by a recorder so no job runs; anything else must end in
SystemExit 2 with exactly one `<job>: error: ...` line on stderr and nothing on stdout (or
`--help`, exit 0). Any other exception fails the test with its traceback. The number of command
lines tried is printed at the end of the session.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import entrypoints.container
from entrypoints import (
    archive,
    backup,
    check,
    cli,
    create_client,
    decrypt,
    encrypt_secret,
    generate_key,
    restore,
    retention,
    verify,
)
from entrypoints import diagram as diagram_job
from entrypoints import list as list_job
from tests.reliability.tally import TALLY
from tests.reliability.world import SecretLedger

EXAMPLES = 150
MODULES: dict[str, ModuleType] = {
    "backup": backup,
    "retention": retention,
    "list": list_job,
    "restore": restore,
    "decrypt": decrypt,
    "verify": verify,
    "check": check,
    "create_client": create_client,
    "archive": archive,
    "generate_key": generate_key,
    "encrypt_secret": encrypt_secret,
    "diagram": diagram_job,
}
CLIENT = ["acme", "file:///etc/lts/acme.toml", "-", "-"]
RESTORE = ["--restore-vault", "file:///etc/lts/restore.toml", "--database", "hr"]
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
    "\u0666",
    "\u00b2",
    "1e3",
    "inf",
    "nan",
    "file:///etc/lts/acme.toml",
    "file://relative.toml",
    "https://acme.vault.azure.net",
    "http://acme.vault.azure.net",
    "ftp://x",
    "-",
    "--",
    "gAAAAABtoken",
    "--tenant_id",
    "--authority_host",
    "--authority_host=http://login.example",
    "--unknown",
    "-x",
    "",
    "\x00",
    "é",
    "\n",
    "a\nb",
    "\x1b[2J",
    "latest",
    "all",
    "20261128T220000Z",
    "2026112T220000Z",
]
HELP = ("-h", "--h", "--he", "--hel", "--help")
ONE_ERROR_LINE = re.compile(r"^(?P<prog>[a-z_]+): error: [^\n]*\n\Z")


def valid_lines(files: Path) -> dict[str, list[str]]:
    """Return a command line each job accepts (its files made under `files`)."""
    secret = files / "secret.txt"
    secret.write_text("s3cret-value-for-fuzzing\n")
    document = files / "report.pdf"
    document.write_bytes(b"%PDF")
    return {
        "backup": ["acme", "6", *CLIENT[1:]],
        "retention": [*CLIENT, "--dry-run"],
        "list": [*CLIENT, "--json"],
        "restore": [*CLIENT, *RESTORE, "--target-database", "hr_copy", "--jobs", "2"],
        "decrypt": [*CLIENT, *RESTORE, "--output", str(files / "hr.dump")],
        "verify": [*CLIENT, "--run", "all"],
        "check": CLIENT,
        "create_client": [
            *CLIENT,
            "--restore-vault",
            "file:///etc/lts/restore.toml",
            "--postgresql-host",
            "db.acme.test",
            "--postgresql-auth",
            "password",
            "--postgresql-user",
            "backup",
            "--postgresql-secret-file",
            str(secret),
            "--storage-unc",
            "file:///srv/share",
        ],
        "archive": [*CLIENT, str(document), "--folder", "contracts"],
        "generate_key": [str(files / "new.key")],
        "encrypt_secret": ["--key-file", str(files / "fernet.key")],
        "diagram": ["--check", "--output", str(files / "machines")],
    }


def options_of(module: ModuleType) -> list[str]:
    """Return the option strings of a job's parser (for jobs that build one)."""
    build = getattr(module, "parser", None)
    if build is None:
        return []
    return sorted({option for action in build()._actions for option in action.option_strings})


@pytest.fixture(scope="module")
def lines(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    return valid_lines(tmp_path_factory.mktemp("fuzz-files"))


def call_main(job: str, argv: Sequence[str]) -> tuple[int | str | None, str, str, list[object]]:
    """Run `<job>.main(argv)` (or `lts` for job "lts"); return exit, stdout, stderr, requests."""
    parsed: list[object] = []
    stdout, stderr = io.StringIO(), io.StringIO()
    code: int | str | None = None
    main = cli.main if job == "lts" else MODULES[job].main
    with (
        pytest.MonkeyPatch.context() as patched,
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(stderr),
    ):
        patched.setattr(entrypoints.container, "run_job", parsed.append)
        patched.setattr(entrypoints.container, "run_tool", parsed.append)
        # create_client reads a secret from stdin when no file is given.
        patched.setattr("sys.stdin", io.StringIO("a-secret-from-stdin\n"))
        try:
            main(list(argv))
        except SystemExit as exited:
            code = exited.code
    return code, stdout.getvalue(), stderr.getvalue(), parsed


def check_line(job: str, argv: list[str], ledger: SecretLedger) -> None:
    """Assert the outcome of one command line is a valid parse, one error line, or help."""
    TALLY.inputs[f"{job} command line"] += 1
    code, stdout, stderr, parsed = call_main(job, argv)
    ledger.add_text(f"{job} fuzzed stderr", stderr)
    if code is None:
        assert (stdout, stderr) == ("", ""), argv
        assert len(parsed) == 1, argv
        return
    assert parsed == [], argv
    if code == 0:
        assert any(arg.startswith(HELP) for arg in argv) or (job == "lts" and not argv), argv
        return
    assert code == 2, (argv, code, stderr)
    assert stdout == "", (argv, stdout)
    match = ONE_ERROR_LINE.match(stderr)
    assert match is not None, (argv, stderr)


def arguments(job: str, base: list[str]) -> st.SearchStrategy[list[str]]:
    """Return argument lists: random token lists, and valid lines with one token changed or added.

    The second kind reaches the checks that follow a valid parse (extra arguments, option values,
    combinations), which random lists almost never do.
    """
    own = options_of(MODULES[job]) if job in MODULES else sorted(cli.JOBS)
    token = st.one_of(
        st.sampled_from(TOKENS + own),
        st.text(max_size=30),
        st.text(alphabet=st.characters(codec="utf-8"), max_size=80),
    )

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


def fuzz(job: str) -> Callable[..., None]:
    """Return a hypothesis test of one job's command line."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(data=st.data())
    def test(ledger: SecretLedger, lines: dict[str, list[str]], data: st.DataObject) -> None:
        base = ["backup", *lines["backup"]] if job == "lts" else lines[job]
        check_line(job, data.draw(arguments(job, base)), ledger)

    return test


test_backup_command_lines_parse_or_fail_with_one_line_and_exit_2 = fuzz("backup")
test_retention_command_lines_parse_or_fail_with_one_line_and_exit_2 = fuzz("retention")
test_list_command_lines_parse_or_fail_with_one_line_and_exit_2 = fuzz("list")
test_restore_command_lines_parse_or_fail_with_one_line_and_exit_2 = fuzz("restore")
test_decrypt_command_lines_parse_or_fail_with_one_line_and_exit_2 = fuzz("decrypt")
test_verify_command_lines_parse_or_fail_with_one_line_and_exit_2 = fuzz("verify")
test_check_command_lines_parse_or_fail_with_one_line_and_exit_2 = fuzz("check")
test_create_client_command_lines_parse_or_fail_with_one_line_and_exit_2 = fuzz("create_client")
test_archive_command_lines_parse_or_fail_with_one_line_and_exit_2 = fuzz("archive")
test_generate_key_command_lines_parse_or_fail_with_one_line_and_exit_2 = fuzz("generate_key")
test_encrypt_secret_command_lines_parse_or_fail_with_one_line_and_exit_2 = fuzz("encrypt_secret")
test_diagram_command_lines_parse_or_fail_with_one_line_and_exit_2 = fuzz("diagram")
test_lts_command_lines_parse_or_fail_with_one_line_and_exit_2 = fuzz("lts")


@pytest.mark.parametrize("job", sorted(MODULES))
def test_a_valid_command_line_reaches_the_job(
    job: str, lines: dict[str, list[str]], ledger: SecretLedger
) -> None:
    code, stdout, stderr, parsed = call_main(job, lines[job])
    assert (code, stdout, stderr) == (None, "", "")
    assert len(parsed) == 1


@pytest.mark.parametrize("job", ["backup", "retention", "list"])
def test_a_valid_command_line_reaches_the_job_with_its_values(
    job: str, lines: dict[str, list[str]], ledger: SecretLedger
) -> None:
    argv = [*lines[job], "--tenant_id", "t1"]

    code, stdout, stderr, [request] = call_main(job, argv)

    assert (code, stdout, stderr) == (None, "", "")
    assert (request.client_name, request.config.url, request.tenant_id) == (  # type: ignore[attr-defined]
        "acme",
        "file:///etc/lts/acme.toml",
        "t1",
    )


@pytest.mark.parametrize("job", ["backup", "retention", "list", "restore", "check"])
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


@pytest.mark.parametrize("job", sorted(MODULES))
@pytest.mark.parametrize("extra", ["\n", "a\nb", "\r", "x\x1b[2Jy"])
def test_an_extra_argument_with_control_characters_is_still_one_error_line(
    job: str, extra: str, lines: dict[str, list[str]], ledger: SecretLedger
) -> None:
    code, stdout, stderr, parsed = call_main(job, [*lines[job], extra])

    assert (code, stdout, parsed) == (2, "", [])
    assert ONE_ERROR_LINE.match(stderr), repr(stderr)
    assert "\r" not in stderr, repr(stderr)
    assert "\x1b" not in stderr, repr(stderr)
