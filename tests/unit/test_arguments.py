"""Bad command lines get one clear line on stderr and exit 2, before anything runs."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from entrypoints import backup
from entrypoints.args import check_client_arguments

VALID = ["acme", "6", "file:///etc/lts/acme.toml", "-", "-"]


def run_main(capsys, argv):
    with pytest.raises(SystemExit) as exited:
        backup.main(argv)
    captured = capsys.readouterr()
    return exited.value.code, captured.out, captured.err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["Acme", *VALID[1:]], "CLIENT_NAME 'Acme' must match"),
        # argparse alone took `-acme` for an option and blamed EOY_MONTH (issue 12).
        (["-acme", *VALID[1:]], "argument CLIENT_NAME: CLIENT_NAME '-acme' must match"),
        (["--tenant_id", "t", "-acme", *VALID[1:]], "argument CLIENT_NAME: CLIENT_NAME '-acme'"),
        (["-1", *VALID[1:]], "argument CLIENT_NAME: CLIENT_NAME '-1' must match"),
        (["acme", "\u0666", *VALID[2:]], "EOY_MONTH must be a month number 1..12, not '\u0666'"),
        (["acme", "\u00b2", *VALID[2:]], "EOY_MONTH must be a month number 1..12, not '\u00b2'"),
        (["acme", "+6", *VALID[2:]], "EOY_MONTH must be a month number 1..12"),
        (["acme", "6\n", *VALID[2:]], "EOY_MONTH must be a month number 1..12, not '6\\n'"),
        (["acme", "6", "file:///etc/a\x1b[2J.toml", "-", "-"], "is not a config source"),
        (["a" * 64, *VALID[1:]], "must match"),
        (["acme/../x", *VALID[1:]], "must match"),
        (["acme", "13", *VALID[2:]], "EOY_MONTH must be a month number 1..12, not '13'"),
        (["acme", "0", *VALID[2:]], "EOY_MONTH must be a month number 1..12"),
        (["acme", "June", *VALID[2:]], "EOY_MONTH must be a month number 1..12"),
        (["acme", "6", "ftp://vault", "-", "-"], "is not a config source (ftp)"),
        (["acme", "6", "/etc/acme.toml", "-", "-"], "is not a config source (no scheme)"),
        (["acme", "6", "http://vault.example", "-", "-"], "is not a config source (http)"),
        (["acme", "6", "https://v.vault.azure.net", "-", "-"], "needs CLIENT_ID and CLIENT_SECRET"),
        ([*VALID, "--authority_host", "http://login"], "--authority_host must be an https://"),
        (VALID[:4], "the following arguments are required: CLIENT_SECRET"),
        ([*VALID, "extra"], "unrecognized arguments: extra"),
    ],
)
def test_a_bad_command_line_is_one_line_and_exit_two(capsys, argv, expected):
    code, out, err = run_main(capsys, argv)
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith("backup: error: ")
    assert expected in err


def test_help_describes_every_positional_argument(capsys):
    code, out, _ = run_main(capsys, ["--help"])
    assert code == 0
    for name in (
        "CLIENT_NAME",
        "EOY_MONTH",
        "KEY_VAULT",
        "CLIENT_ID",
        "CLIENT_SECRET",
        "--tenant_id",
        "--authority_host",
    ):
        assert name in out


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(max_size=20), max_size=7))
def test_no_command_line_ends_in_a_traceback(argv):
    # Parsing either accepts the line or exits 2 with a message: never any other exception.
    argv = [a for a in argv if a not in ("-h", "--help")]
    job_parser = backup.parser()
    code = 0
    try:
        args = job_parser.parse_args(argv)
        check_client_arguments(job_parser, args)
    except SystemExit as exited:
        code = exited.code  # type: ignore[assignment]
    assert code in (0, 2)
