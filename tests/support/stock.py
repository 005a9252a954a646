"""The operator's shell of ten years from now: stock gpg, zstd and PostgreSQL client tools only.

Tests that restore a run the way RESTORE.txt says run its command lines here, in bash with
`pipefail`, with nothing of this project on the PATH.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from psycopg import sql

from tests.support.gpg import stop_agent
from tests.support.postgres import PostgresServer


@contextmanager
def operator_keyring(directory: Path, secret_key: bytes) -> Iterator[Path]:
    """Yield a fresh GNUPGHOME in `directory` where the operator imported the private key.

    RESTORE.txt's step 2, with plain gpg; the agent is stopped afterwards. Keep `directory`
    short: gpg-agent's socket lives in it.
    """
    home = directory / "gnupg"
    home.mkdir(mode=0o700)
    (directory / "private-key.asc").write_bytes(secret_key)
    subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--import", str(directory / "private-key.asc")],
        capture_output=True,
        check=True,
    )
    try:
        yield home
    finally:
        stop_agent(home)


def stock_env(server: PostgresServer, gnupg: Path) -> dict[str, str]:
    """Return the operator's environment: stock tools, PostgreSQL 15 clients, a superuser login."""
    return {
        "PATH": f"{server.bin_dir}:/usr/bin:/bin",
        "HOME": str(gnupg),
        "GNUPGHOME": str(gnupg),
        "LC_ALL": "C.UTF-8",
        "PGHOST": server.host,
        "PGPORT": str(server.port),
        "PGUSER": server.superuser,
        "PGPASSWORD": server.password,
        "PGSSLMODE": "disable",
    }


def commands_for(restore_text: str, database: str) -> list[str]:
    """Return the command lines RESTORE.txt gives under `# <database>`."""
    lines = restore_text.splitlines()
    start = lines.index(f"  # {database}") + 1
    commands = []
    for line in lines[start:]:
        if not line.startswith("  ") or line.startswith("  #"):
            break
        commands.append(line.strip())
    return commands


def bash(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    """Run `script` in bash with errexit and pipefail, as the operator would paste it."""
    return subprocess.run(
        ["bash", "-o", "pipefail", "-e", "-c", script],
        env=env,
        cwd=cwd,
        capture_output=True,
        check=False,
        timeout=300,
    )


@contextmanager
def set_aside(server: PostgresServer, database: str, aside: str) -> Iterator[None]:
    """Rename `database` to `aside` so a restore can create it under its own name; put it back.

    Whatever the restore created under the name is dropped afterwards.
    """
    server.execute(
        sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
            sql.Identifier(database), sql.Identifier(aside)
        )
    )
    try:
        yield
    finally:
        server.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(database)))
        server.execute(
            sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                sql.Identifier(aside), sql.Identifier(database)
            )
        )
