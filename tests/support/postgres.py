"""Start a real, throw-away PostgreSQL server for integration tests.

The server runs Debian's PostgreSQL binaries (15 by default) as an unprivileged OS user (initdb
refuses root), listens on 127.0.0.1 on a free port, and requires a scram-sha-256 password on
every connection (TCP and socket alike), so a client that forgets the password fails.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from pydantic import SecretStr

from ports.database import ServerTarget

DEFAULT_BIN_DIR = Path("/usr/lib/postgresql/15/bin")
OS_USER = "postgres"
SUPERUSER = "postgres"
START_ATTEMPTS = 3
READY_TIMEOUT_SECONDS = 30.0


@dataclass
class PostgresServer:
    """A running test server and the means to set it up and stop it."""

    host: str
    port: int
    superuser: str
    password: str = field(repr=False)
    bin_dir: Path
    base_dir: Path
    data_dir: Path
    socket_dir: Path
    os_user: str | None
    _stopped: bool = field(default=False, repr=False)

    def connect(self, dbname: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        """Connect as the superuser to `dbname`, in autocommit mode."""
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.superuser,
            password=self.password,
            dbname=dbname,
            sslmode="disable",
            connect_timeout=10,
            autocommit=True,
        )

    def execute(self, statement: sql.Composed | sql.SQL | str, dbname: str = "postgres") -> None:
        """Run one statement as the superuser in `dbname`."""
        with self.connect(dbname) as conn:
            conn.execute(statement)

    def create_database(self, name: str, owner: str | None = None) -> None:
        """Create database `name` (any characters), optionally owned by `owner`."""
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if owner is not None:
            statement += sql.SQL(" OWNER {}").format(sql.Identifier(owner))
        self.execute(statement)

    def create_role(self, name: str, password: str, *grants: str) -> None:
        """Create a login role with `password`, member of each role in `grants`."""
        self.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(name), sql.Literal(password)
            )
        )
        for granted in grants:
            self.execute(
                sql.SQL("GRANT {} TO {}").format(sql.Identifier(granted), sql.Identifier(name))
            )

    def target(
        self, user: str | None = None, password: str | None = None, auth: str = "password"
    ) -> ServerTarget:
        """Return how the adapters reach this server (the superuser by default)."""
        return ServerTarget(
            host=self.host,
            port=self.port,
            user=user or self.superuser,
            auth=auth,
            secret=SecretStr(self.password if password is None else password),
            sslmode="disable",
        )

    def pg_ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run pg_ctl on this server's data directory, as the server's OS user."""
        argv = [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), *args]
        return _run(argv, self.os_user, self.base_dir, check=False)

    def stop(self) -> None:
        """Stop the server at once and delete its files."""
        if self._stopped:
            return
        self._stopped = True
        try:
            self.pg_ctl("-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)


def start_postgres_server(bin_dir: Path = DEFAULT_BIN_DIR) -> PostgresServer:
    """Initialise and start a server in a new temporary directory; the caller must stop it."""
    os_user = _server_os_user()
    base_dir = Path(tempfile.mkdtemp(prefix="lts-pg-"))
    try:
        server = _init_cluster(bin_dir, base_dir, os_user)
        _start(server)
    except BaseException:
        shutil.rmtree(base_dir, ignore_errors=True)
        raise
    return server


def _init_cluster(bin_dir: Path, base_dir: Path, os_user: str | None) -> PostgresServer:
    password = secrets.token_urlsafe(24)
    data_dir = base_dir / "data"
    socket_dir = base_dir / "socket"
    socket_dir.mkdir()
    pwfile = base_dir / "pwfile"
    pwfile.write_text(password + "\n")
    pwfile.chmod(0o600)
    if os_user is not None:
        entry = pwd.getpwnam(os_user)
        for path in (base_dir, socket_dir, pwfile):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    _run(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(data_dir),
            "-U",
            SUPERUSER,
            "--auth=scram-sha-256",
            f"--pwfile={pwfile}",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ],
        os_user,
        base_dir,
    )
    pwfile.unlink()
    return PostgresServer(
        host="127.0.0.1",
        port=0,
        superuser=SUPERUSER,
        password=password,
        bin_dir=bin_dir,
        base_dir=base_dir,
        data_dir=data_dir,
        socket_dir=socket_dir,
        os_user=os_user,
    )


def _start(server: PostgresServer) -> None:
    conf = server.data_dir / "postgresql.conf"
    base_conf = conf.read_text()
    last_error = ""
    # A free port can be taken between probing and binding: retry with another one.
    for _ in range(START_ATTEMPTS):
        server.port = _free_port()
        conf.write_text(
            base_conf
            + f"\nlisten_addresses = '{server.host}'\nport = {server.port}\n"
            + f"unix_socket_directories = '{server.socket_dir}'\n"
            # Durability is worthless for a throw-away server; speed is not.
            + "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
        )
        log = server.base_dir / "server.log"
        result = server.pg_ctl("-l", str(log), "-w", "-t", str(int(READY_TIMEOUT_SECONDS)), "start")
        if result.returncode == 0 and _wait_ready(server):
            return
        last_error = log.read_text(errors="replace")[-2000:] if log.exists() else result.stderr
        server.pg_ctl("-m", "immediate", "stop")
    raise RuntimeError(f"PostgreSQL did not start: {last_error}")


def _wait_ready(server: PostgresServer) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        try:
            with server.connect() as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.OperationalError:
            time.sleep(0.2)
    return False


def _server_os_user() -> str | None:
    """Return the unprivileged user to run the server as, or None when we are not root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(OS_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", OS_USER],
            check=True,
            capture_output=True,
        )
    return OS_USER


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run(
    argv: list[str], os_user: str | None, cwd: Path, *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    if os_user is not None:
        argv = ["runuser", "-u", os_user, "--", *argv]
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({result.returncode}): {result.stderr.strip()}")
    return result
