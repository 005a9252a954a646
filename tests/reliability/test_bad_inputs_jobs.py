"""Issue 12's bad inputs through real jobs: one line each, a non-zero exit, nothing left behind."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from psycopg import sql

from tests.reliability.aftermath import host_problems, share_problems
from tests.reliability.stand import Stand
from tests.reliability.tally import TALLY
from tests.reliability.world import published_runs
from tests.support.jobs import REPO

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PREFIXES = ("Failure: ", "Critical failure: ", "backup acme", "restore acme", "archive acme")


def one_line_each(stdout: str) -> None:
    """Assert every stdout line is one of the contract's lines (nothing split one in two)."""
    for line in stdout.splitlines():
        assert line.startswith(PREFIXES), stdout


@pytest.mark.parametrize("kind", ["fifo", "directory"])
def test_archiving_a_fifo_or_a_directory_is_refused_before_anything_is_made(
    stand: Stand, kind: str
) -> None:
    path = stand.site.root / f"not-a-file-{kind}"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.mkdir()
    before = sorted(p.relative_to(stand.site.share) for p in stand.site.share.rglob("*"))

    result = stand.site.run("archive", "acme", stand.url, "-", "-", str(path), timeout=60)

    TALLY.inputs["archive of what is no file"] += 1
    assert result.code == 1, result.stdout
    [failure] = result.failures
    assert failure.startswith(f"Failure: check_file acme {path.name} {path} is a ")
    assert result.stdout.splitlines()[-1] == f"archive acme: {path.name} not archived, 1 failures"
    assert sorted(p.relative_to(stand.site.share) for p in stand.site.share.rglob("*")) == before
    assert host_problems(stand.site) == []


def test_a_target_user_with_a_newline_keeps_every_output_line_whole(stand: Stand) -> None:
    result = stand.site.run(
        "restore", *stand.argv("restore", stand.new_target("nl")), "--target-user", "a\nb",
        env={"PGPASSWORD": "whatever-password-1"},
    )  # fmt: skip
    TALLY.inputs["restore with a newline in --target-user"] += 1
    assert result.code >= 1
    assert result.stderr == ""
    one_line_each(result.stdout)
    assert "a\\nb" in result.stdout
    assert host_problems(stand.site) == []


def test_a_host_with_a_newline_in_the_client_config_is_one_failure_line(stand: Stand) -> None:
    config = stand.site.root / "configs" / "acme.toml"
    original = config.read_text()
    config.write_text(original.replace("postgresql-host = ", 'postgresql-host = "x\\ny" #'))
    try:
        result = stand.run("backup")
    finally:
        config.write_text(original)
    TALLY.inputs["client config with a newline in a value"] += 1
    assert result.code == 1
    [failure] = result.failures
    assert failure.startswith("Failure: read_config acme invalid client config: postgresql-host")
    one_line_each(result.stdout)


def test_a_database_named_with_a_newline_is_stored_and_restore_txt_keeps_one_line_each(
    stand: Stand,
) -> None:
    name = f"x\ny_{stand.cluster.big[-6:]}"
    stand.cluster.server.create_database(name)
    stand.cluster.server.execute(
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
            sql.Identifier(name), sql.Identifier(stand.cluster.role)
        )
    )
    try:
        result = stand.run("backup")
    finally:
        stand.cluster.server.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(name)))
    TALLY.inputs["database named with a newline"] += 1
    one_line_each(result.stdout)
    run = published_runs(stand.site.share)[-1]
    text = (run / "RESTORE.txt").read_text()
    tag = stand.cluster.big[-6:]
    stored = f"x%0Ay_{tag}.dump.zst.gpg"  # the default compression, zstd:1
    # The listing, the comment over its restore command, the command writing it to a file.
    listed, comment, to_file = [
        line.strip() for line in text.splitlines() if f"x\\ny_{tag}" in line
    ]
    assert listed.split()[0] == stored
    assert comment == f"# x\\ny_{tag}"
    assert to_file == f"gpg --decrypt {stored} | zstd -d > db.dump    # x\\ny_{tag}"
    assert not any(line.startswith(f"y_{tag}") for line in text.splitlines())
    assert share_problems(stand.site) == []


def test_a_closed_stdout_gives_no_traceback(stand: Stand) -> None:
    read, write = os.pipe()
    os.close(read)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LTS_")}
    env["LTS_CONFIG"] = str(stand.site.config_path)
    done = subprocess.run(
        [sys.executable, "-m", "entrypoints.list", "acme", stand.url, "-", "-"],
        cwd=REPO, env=env, stdout=write, stderr=subprocess.PIPE, timeout=120, check=False,
    )  # fmt: skip
    os.close(write)
    TALLY.inputs["job with a closed stdout"] += 1
    assert done.returncode == 0
    assert done.stderr == b""
    assert "stdout is closed" in stand.site.logs()
