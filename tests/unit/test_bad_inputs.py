"""The bad inputs of issue 12, point 5, in-process: one clear line, nothing written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath

import pytest

from adapters.os.console import StdoutConsole
from adapters.os.local_files import PrivateLocalFiles
from domain.framework.results import Failure
from domain.models.client_config import ClientConfig, ClientConfigError
from domain.models.manifest import DumpRecord, DumpStatus, Manifest
from domain.models.restore_config import RestoreConfig, RestoreConfigError
from domain.models.run import Tier
from domain.models.text import one_line, printable
from domain.rules.restore_text import restore_text
from entrypoints import cli, decrypt
from entrypoints.settings import SettingsError, load_settings
from tests.support.memory_world import World, client_values
from tests.support.operations_world import ArchiveWorld
from tests.support.restore_world import restore_values

REPO = Path(__file__).resolve().parents[2]


def settings_with(tmp_path: Path, text: str | bytes, **environ: str) -> dict[str, str]:
    path = tmp_path / "config.toml"
    if isinstance(text, str):
        path.write_text(text)
    else:
        path.write_bytes(text)
    return {"LTS_CONFIG": str(path), **environ}


# ---------------------------------------------------------------- the master config


def test_a_master_config_that_is_not_utf8_is_one_line(tmp_path):
    environ = settings_with(tmp_path, b"[backup]\n# caf\xe9 au lait\nworker_pool_size = 2\n")
    with pytest.raises(SettingsError) as refused:
        load_settings(environ)
    assert str(refused.value) == (
        f"the master config {environ['LTS_CONFIG']} is not UTF-8 text (byte 0xe9 at offset 14)"
    )


def test_lts_config_naming_a_directory_is_refused(tmp_path):
    with pytest.raises(SettingsError, match=r"^the master config .* is not a file$"):
        load_settings({"LTS_CONFIG": str(tmp_path)})


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("backup", "share_lock_max_age_hours", "inf"),
        ("backup", "share_lock_max_age_hours", "nan"),
        ("retention", "partial_max_age_hours", "inf"),
        ("retention", "partial_max_age_hours", "-inf"),
        ("backup", "shrink_warning_ratio", "nan"),
        ("azure", "connection_timeout", "inf"),
        ("azure", "read_timeout", "nan"),
    ],
)
def test_infinities_and_nan_are_refused_in_the_file_and_the_environment(
    tmp_path, section, key, value
):
    environ = settings_with(tmp_path, f"[{section}]\n{key} = {value}\n")
    with pytest.raises(SettingsError, match=rf"^{section}\.{key}: Input should be a finite"):
        load_settings(environ)
    environ = settings_with(tmp_path, "", **{f"LTS_{section}__{key}".upper(): value})
    with pytest.raises(SettingsError, match=rf"^{section}\.{key}: Input should be a finite"):
        load_settings(environ)


def test_an_age_of_centuries_is_refused_before_it_overflows(tmp_path):
    environ = settings_with(tmp_path, "[backup]\nshare_lock_max_age_hours = 1e300\n")
    with pytest.raises(SettingsError, match="less than or equal to 876000"):
        load_settings(environ)


def test_an_unknown_section_in_the_environment_is_refused_like_an_unknown_key(tmp_path):
    environ = settings_with(tmp_path, "", LTS_FROBS__X="1", LTS_BACKUP__WORKER_POOL_SIZE="3")
    with pytest.raises(SettingsError) as refused:
        load_settings(environ)
    assert str(refused.value) == (
        "LTS_FROBS__X: no section 'frobs' in the master config "
        "(sections: azure, backup, check, logging, metrics, paths, report, retention, secrets, "
        "share, signing)"
    )


def test_lts_config_itself_is_no_section(tmp_path):
    assert load_settings(settings_with(tmp_path, "")).backup.worker_pool_size == "auto"


# ---------------------------------------------------------------- one line, whatever a name holds


def test_printable_escapes_what_would_split_or_move_a_line():
    assert printable("x\ny\r\t\x1b[2J é") == "x\\ny\\r\\t\\x1b[2J é"
    assert printable("plain") == "plain"
    assert one_line("first\nsecond\n\n third\x07") == "first / second /  third\\x07"


def test_a_database_named_with_a_newline_is_one_failure_line():
    world = World(sizes={"x\ny": 100, "sales": 300})
    world.dumper.broken = {"x\ny": "connection reset"}
    world.run_end_point()
    failures = [line for line in world.console.lines if line.startswith("Failure: ")]
    assert failures == [
        "Failure: dump_database acme db.acme.test x\\ny pg_dump failed: connection reset"
    ]
    assert all("\n" not in line for line in world.console.lines)


def test_restore_txt_keeps_one_line_per_database_whatever_its_name():
    now = datetime(2026, 11, 28, 22, tzinfo=UTC)
    record = DumpRecord(
        name="x\ny", file="x%0Ay.dump.gpg", status=DumpStatus.OK, started=now, finished=now
    )
    manifest = Manifest(
        client="acme",
        run_id="20261128T220000Z",
        tier=Tier.END_OF_MONTH,
        period="2026-11",
        eoy_month=6,
        started=now,
        finished=now + timedelta(minutes=1),
        tool_version="test",
        server_version="15.4\nbuilt by x",
        pg_dump_version="15.4",
        archive_format="custom",
        compression="gzip:6",
        key_name="acme",
        key_fingerprint="F" * 40,
        databases=[record],
    )
    text = restore_text(manifest).decode()
    lines = [line for line in text.splitlines() if "x%0Ay.dump.gpg" in line]
    assert [line.strip() for line in lines] == [
        "x%0Ay.dump.gpg                           x\\ny  (ok, pg_dump's own)",
        "gpg --decrypt x%0Ay.dump.gpg | pg_restore --create --dbname=postgres",
        "gpg --decrypt x%0Ay.dump.gpg > db.dump    # x\\ny",
    ]
    assert "PostgreSQL server 15.4\\nbuilt by x, compression gzip:6." in text


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("postgresql-host", "db.acme.test\nevil"),
        ("postgresql-host", "db acme"),
        ("postgresql-user", "backup\n"),
        ("key-name", "acme\r"),
        ("storage-name", "acct\tx"),
        ("storage-unc", "file:///srv/share\nx"),
    ],
)
def test_a_config_value_with_a_line_break_is_one_clear_problem(key, value):
    values = client_values(**{key: value, "postgresql-auth": "password"})
    with pytest.raises(ClientConfigError) as refused:
        ClientConfig.from_raw(values, "acme")
    message = str(refused.value)
    assert message.startswith(f"{key}: must ")
    assert "\n" not in message


def test_a_passphrase_with_a_line_break_is_refused_as_gpg_would_cut_it():
    with pytest.raises(RestoreConfigError, match="must not contain a line break"):
        RestoreConfig.from_raw(restore_values(**{"private-key-passphrase": "first\nsecond"}))


# ---------------------------------------------------------------- command lines


def test_an_unknown_job_of_lts_is_one_line_and_exit_two(capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["frobnicate"])
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert err.count("\n") == 1
    assert err.startswith("lts: error: unknown job 'frobnicate' (jobs: backup, retention, ")


def test_an_unknown_job_with_a_newline_stays_one_line(capsys):
    with pytest.raises(SystemExit):
        cli.main(["a\nb"])
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.parametrize("output", ["", "dir/", "a\nb"])
def test_decrypt_refuses_an_output_that_names_no_file_with_exit_two(capsys, output):
    argv = ["acme", "file:///c.toml", "-", "-", "--restore-vault", "file:///r.toml"]
    with pytest.raises(SystemExit) as exited:
        decrypt.main([*argv, "--database", "hr", "--output", output])
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert err.startswith("decrypt: error: argument --output: --output must name a file")
    assert err.count("\n") == 1


# ---------------------------------------------------------------- archive of what is no file


@pytest.mark.parametrize("kind", ["a directory", "a FIFO (named pipe)"])
def test_archiving_what_is_not_a_regular_file_is_refused_before_anything_is_made(kind):
    world = ArchiveWorld()
    world.files.specials[world.file] = kind
    results = world.mount_machine().execute()
    assert [r.node for r in results] == [
        "read_config",
        "take_lock",
        "open_share",
        "mount_share",
        "check_file",
        "run_machine",
        "unmount_share",
        "release_lock",
    ]
    [failure] = [r for r in results if isinstance(r, Failure)]
    assert failure.message == f"acme report 2026.pdf {world.file} is {kind}, not a regular file"
    assert world.check.share.names() == []
    assert world.check.share.dirs == {PurePosixPath(".")}
    assert world.check.encryptor.loads == 0


def test_the_local_files_say_what_a_path_is(tmp_path):
    files = PrivateLocalFiles(tmp_path / "work")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    (tmp_path / "file").write_bytes(b"x")
    (tmp_path / "link").symlink_to(tmp_path / "file")
    assert files.regular_file_problem(tmp_path / "file") is None
    assert files.regular_file_problem(tmp_path / "none") == "does not exist"
    assert files.regular_file_problem(tmp_path) == "is a directory, not a regular file"
    assert files.regular_file_problem(fifo) == "is a FIFO (named pipe), not a regular file"
    assert str(files.regular_file_problem(tmp_path / "link")).startswith("is a symbolic link")


def test_reading_a_fifo_is_refused_at_once_instead_of_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(Exception, match="is not a regular file"):
        next(PrivateLocalFiles(tmp_path / "work").read_chunks(fifo))


# ---------------------------------------------------------------- a closed stdout


def test_a_closed_stdout_loses_the_lines_but_never_raises(caplog):
    script = (
        "import domain  # the 'lts' loggers stay silent until a job configures its log\n"
        "from adapters.os.console import StdoutConsole\n"
        "console = StdoutConsole()\n"
        "console.print('Failure: one')\n"
        "console.print('Failure: two')\n"
        "print('lost' if console.lost else 'kept', file=__import__('sys').stderr)\n"
    )
    read, write = os.pipe()
    os.close(read)
    done = subprocess.run(
        [sys.executable, "-c", script], stdout=write, stderr=subprocess.PIPE, cwd=REPO, check=False
    )
    os.close(write)
    assert done.returncode == 0
    assert done.stderr.decode() == "lost\n"
    assert StdoutConsole().lost is False


# ---------------------------------------------------------------- retention's emptied folders


def test_retention_removes_the_period_folders_it_emptied_and_keeps_the_others():
    world = World(values=client_values(**{"end-of-month-retention": "40"}))
    world.run_end_point()
    world.clock.advance(timedelta(days=31))
    world.run_end_point()
    world.clock.advance(timedelta(days=31))
    world.run_end_point()
    assert world.exit.code == 0, world.console.lines
    periods = sorted(str(d) for d in world.share.dirs if len(PurePosixPath(d).parts) == 2)
    assert periods == ["end-of-month/2026-12", "end-of-month/2027-01"]
    assert PurePosixPath("end-of-month/2026-11") in [
        PurePosixPath(d.removeprefix("deleted ")) for d in map(str, world.share.deleted)
    ]


def test_a_period_folder_that_still_holds_something_is_kept():
    world = World(values=client_values(**{"end-of-month-retention": "40"}))
    world.run_end_point()
    note = PurePosixPath("end-of-month/2026-11/NOTE.txt")
    world.share.files[note] = b"keep me"
    world.clock.advance(timedelta(days=62))
    world.run_end_point()
    assert world.share.files[note] == b"keep me"
    assert not any(str(d).startswith("end-of-month/2026-11/2026") for d in world.share.dirs), (
        "the run itself is gone"
    )


def test_the_share_lock_marker_is_json_with_the_process():
    world = World()
    world.share.files[PurePosixPath(".lts-lock.json")] = json.dumps(
        {"owner": "host test-host pid 9", "since": "2026-11-28T21:59:00+00:00",
         "process": {"host": "test-host", "pid": 9, "started": "boot:1"}}
    ).encode()  # fmt: skip
    world.run_end_point()
    assert world.exit.code == 0
