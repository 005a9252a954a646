"""The benchmarks' world: one real PostgreSQL 15 server, a key pair, databases and job sites.

A `Lab` starts what a figure asks for, lazily, and keeps it for the next figure of the same
`python -m bench all` run: the 1 GB database is built once. Leaving the `with` block stops the
server and removes every temporary directory.

The backup job runs exactly as the scheduler runs it: `python -m entrypoints.backup acme 6
file://client.toml - -` in a child process, through tests/support/jobs.py's `Site` (master config
in a temp dir, a local directory as the share). Its baselines run the same tools by hand.
"""

from __future__ import annotations

import os
import resource
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from psycopg import sql

from bench.data import MESSAGES, READINGS, DatabaseSpec, build
from tests.support.gpg import KeyPair, generate_key_pair, stop_agent
from tests.support.jobs import REPO, JobResult, Site, b64
from tests.support.postgres import PostgresServer, start_postgres_server
from tests.support.processes import child_processes

BIG = DatabaseSpec("bench_big", mebibytes=1040, tables=4)
"""At least 1 GiB by pg_database_size: 4 tables so that pg_restore --jobs has work to share."""
MEDIUM = DatabaseSpec("bench_medium", mebibytes=565, tables=4)
"""The size of issue 14's measurements (565 MiB), text-heavy."""
NUMERIC = DatabaseSpec("bench_numeric", mebibytes=565, tables=4, kind=READINGS)
"""The same size, numeric data only (figure d's second kind)."""
PROSE = DatabaseSpec("bench_words", mebibytes=565, tables=4, kind=MESSAGES)
"""The same size, short rows of words (figure d's third kind, shown beside the rule)."""
SMALL = DatabaseSpec("bench_small", mebibytes=100, tables=1)
POOL = [DatabaseSpec(f"bench_pool_{n}", mebibytes=64, tables=2) for n in range(1, 9)]
MANY = DatabaseSpec("bench_many", many_tables=10_000)
SERVER_SETTINGS = {
    # pg_dump takes a lock per table in one transaction: 10,000 tables do not fit the default 64.
    "max_locks_per_transaction": "1024",
    "max_wal_size": "4GB",
    "maintenance_work_mem": "256MB",
}
CLIENT = "acme"
EOY_MONTH = "6"
JOB_TIMEOUT_SECONDS = 1800
SETTLE_SECONDS = 3.0


class BenchError(RuntimeError):
    """A benchmark step failed: the figure is not measured."""


@dataclass(frozen=True)
class Timing:
    """Wall time, CPU time (user + system) of the finished child processes, and the server's.

    `cpu` counts the job or the baseline pipeline and everything they started (pg_dump, zstd,
    gpg, bash), not the PostgreSQL server, whose CPU time (its backends, reaped by the
    postmaster) is `server`; both barely move when other work shares the machine.
    """

    wall: float
    cpu: float
    server: float = 0.0

    def __str__(self) -> str:
        """Return the times, for progress lines."""
        return f"{self.wall:.1f} s ({self.cpu:.1f} s CPU, server {self.server:.1f} s)"


@dataclass(frozen=True)
class JobRun:
    """One backup job run: its timing, what it printed and the bytes it stored per database."""

    timing: Timing
    result: JobResult
    stored: dict[str, int]

    @property
    def seconds(self) -> float:
        """Return the wall time."""
        return self.timing.wall


def children_cpu() -> float:
    """Return the CPU seconds used so far by this process's waited-for descendants."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def process_cpu(pid: int) -> float:
    """Return the CPU seconds of `pid` and of its children it has reaped (0 when it is gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = text[text.rindex(")") + 2 :].split()
    # utime, stime, cutime, cstime are fields 14-17 of stat(5); `fields` starts at field 3.
    ticks = sum(int(value) for value in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def children_of(pid: int) -> list[int]:
    """Return the pids of the processes whose parent is `pid`."""
    return [child for child, _, _ in child_processes(pid)]


def dump_bytes(stored: Mapping[str, int], database: str) -> int:
    """Return the stored bytes of `database`'s dump, whatever its compression suffix."""
    return next(size for name, size in stored.items() if name.startswith(f"{database}.dump."))


class Lab:
    """The server, key pair, databases and sites shared by the figures of one run."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="lts-bench-"))
        self._server: PostgresServer | None = None
        self._key_pair: KeyPair | None = None
        self._built: dict[str, int] = {}
        self._idle_children = 0
        self.role = "bench_backup"
        self.password = "pw-" + secrets.token_urlsafe(20)

    def __enter__(self) -> Lab:
        """Return the lab; nothing is started yet."""
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        """Stop the server and the gpg agent, remove every temporary directory."""
        self.close()

    def close(self) -> None:
        """Stop everything this lab started and delete its files."""
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._key_pair is not None:
            stop_agent(self._key_pair.homedir)
            shutil.rmtree(self._key_pair.homedir, ignore_errors=True)
            self._key_pair = None
        shutil.rmtree(self.root, ignore_errors=True)

    # ------------------------------------------------------------------ server and data

    @property
    def server(self) -> PostgresServer:
        """Return the running server, starting it (with SERVER_SETTINGS) on first use."""
        if self._server is None:
            print("starting PostgreSQL 15 ...", flush=True)
            server = start_postgres_server()
            try:
                for name, value in SERVER_SETTINGS.items():
                    server.execute(
                        sql.SQL("ALTER SYSTEM SET {} = {}").format(
                            sql.Identifier(name), sql.Literal(value)
                        )
                    )
                server.pg_ctl("-m", "fast", "-w", "stop")
                started = server.pg_ctl("-l", str(server.base_dir / "server.log"), "-w", "start")
                if started.returncode != 0:
                    raise BenchError(f"PostgreSQL did not restart: {started.stderr.strip()}")
                server.create_role(self.role, self.password, "pg_read_all_data")
            except BaseException:
                server.stop()
                raise
            self._server = server
            time.sleep(1)  # the restarted server's background workers settle
            self._idle_children = len(children_of(self.postmaster))
        return self._server

    @property
    def postmaster(self) -> int:
        """Return the pid of the server's postmaster."""
        return int((self.server.data_dir / "postmaster.pid").read_text().split()[0])

    def server_cpu(self) -> float:
        """Return the CPU seconds the server's postmaster and its reaped backends used so far.

        A backend's time reaches the postmaster when it reaps it, shortly after the client
        disconnected: this waits (up to SETTLE_SECONDS) until no more backends run than
        `self._idle_children`, so a run's backends are counted in that run.
        """
        deadline = time.monotonic() + SETTLE_SECONDS
        while len(children_of(self.postmaster)) > self._idle_children:
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)
        return process_cpu(self.postmaster)

    def database(self, spec: DatabaseSpec) -> int:
        """Build `spec` unless this lab already did; return its pg_database_size in bytes."""
        if spec.name not in self._built:
            began = time.perf_counter()
            print(f"building {spec.name} ({spec.describe()}) ...", flush=True)
            build(self.server, spec)
            self._built[spec.name] = self.size(spec.name)
            took = time.perf_counter() - began
            print(f"  {self._built[spec.name] / 1024**2:,.0f} MiB in {took:.0f} s", flush=True)
        return self._built[spec.name]

    def size(self, database: str) -> int:
        """Return pg_database_size of `database`."""
        with self.server.connect() as conn:
            row = conn.execute("SELECT pg_database_size(%s)", (database,)).fetchone()
        if row is None:
            raise BenchError(f"no size for database {database}")
        size: int = row[0]  # type: ignore[assignment]
        return size

    def databases(self) -> list[str]:
        """Return every connectable, non-template database on the server."""
        with self.server.connect() as conn:
            rows = conn.execute("SELECT datname FROM pg_database WHERE NOT datistemplate")
            return [str(row[0]) for row in rows.fetchall()]

    @property
    def bin_dir(self) -> Path:
        """Return the server's binaries (pg_dump, pg_restore, psql: PostgreSQL 15)."""
        return self.server.bin_dir

    def client_env(self, **extra: str) -> dict[str, str]:
        """Return the environment of a hand-run PostgreSQL client, as the backup role."""
        return {
            "PATH": os.environ.get("PATH", os.defpath),
            "LC_ALL": "C",
            "PGHOST": self.server.host,
            "PGPORT": str(self.server.port),
            "PGUSER": self.role,
            "PGPASSWORD": self.password,
            "PGSSLMODE": "disable",
            **extra,
        }

    def superuser_env(self) -> dict[str, str]:
        """Return the environment of a hand-run client as the superuser (for restores)."""
        server = self.server
        return self.client_env(PGUSER=server.superuser, PGPASSWORD=server.password)

    # ------------------------------------------------------------------ keys and gpg

    @property
    def key_pair(self) -> KeyPair:
        """Return the client's OpenPGP key pair (generated on first use, no passphrase)."""
        if self._key_pair is None:
            self._key_pair = generate_key_pair(
                self.root / "keys", CLIENT, f"{CLIENT}@backup.test", None
            )
        return self._key_pair

    def gpg_encrypt_argv(self) -> list[str]:
        """Return the `gpg --encrypt` of the baselines: the job's own cipher and options."""
        return [
            "gpg",
            "--homedir",
            str(self.key_pair.homedir),
            "--batch",
            "--no-tty",
            "--no-autostart",
            "--trust-model",
            "always",
            "--compress-algo",
            "none",
            "--cipher-algo",
            "AES256",
            "--encrypt",
            "--recipient",
            self.key_pair.fingerprint,
            "--output",
            "-",
        ]

    # ------------------------------------------------------------------ the backup job

    def site(self, name: str, backup: Mapping[str, object], pg_bin_dir: Path | None = None) -> Site:
        """Return a fresh operator site whose `[backup]` section is `backup` plus pg_bin_dir."""
        root = self.root / "sites" / name
        shutil.rmtree(root, ignore_errors=True)
        site = Site(root)
        site.settings = {"backup": {"pg_bin_dir": str(pg_bin_dir or self.bin_dir), **backup}}
        site.write_master_config()
        return site

    def client_url(self, site: Site, databases: Sequence[str]) -> str:
        """Write the client config that backs up exactly `databases`; return its file:// URL."""
        others = [name for name in self.databases() if name not in databases]
        values = {
            "client-name": CLIENT,
            "postgresql-host": self.server.host,
            "postgresql-port": str(self.server.port),
            "postgresql-auth": "password",
            "postgresql-user": self.role,
            "postgresql-secret": self.password,
            "postgresql-sslmode": "disable",
            "key-name": CLIENT,
            "public-key": b64(self.key_pair.public_armored),
            "exclude-databases": ",".join(others),
            "storage-unc": f"file://{site.share}",
            "end-of-month-retention": "400",
            "end-of-year-retention": "3650",
        }
        return site.write_client_config(CLIENT, values)

    def job_argv(self, url: str) -> list[str]:
        """Return the scheduler's command line for the client config at `url`."""
        return [sys.executable, "-m", "entrypoints.backup", CLIENT, EOY_MONTH, url, "-", "-"]

    def job_env(self, site: Site) -> dict[str, str]:
        """Return the environment `Site.run` gives the job (no LTS_* but LTS_CONFIG)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("LTS_")}
        env["LTS_CONFIG"] = str(site.config_path)
        return env

    def run_job(self, site: Site, databases: Sequence[str]) -> JobRun:
        """Run the backup job over `databases`, check it stored all of them, clear the share."""
        url = self.client_url(site, databases)
        cpu, server, began = children_cpu(), self.server_cpu(), time.perf_counter()
        result = site.run("backup", CLIENT, EOY_MONTH, url, "-", "-", timeout=JOB_TIMEOUT_SECONDS)
        wall = time.perf_counter() - began
        timing = Timing(wall, children_cpu() - cpu, self.server_cpu() - server)
        return JobRun(timing, result, self.check_run(site, result, databases))

    def check_run(self, site: Site, result: JobResult, databases: Sequence[str]) -> dict[str, int]:
        """Raise BenchError unless the job stored every database; return sizes; clear the share."""
        if result.code != 0:
            raise BenchError(
                f"the backup job exited {result.code}: {result.stdout.strip()} "
                f"{result.stderr.strip()[-2000:]}"
            )
        stored = {
            path.name: path.stat().st_size for path in site.share.rglob("*.gpg") if path.is_file()
        }
        dumps = [name for name in stored if name.endswith((".dump.gpg", ".dump.zst.gpg"))]
        if len(dumps) != len(databases):
            raise BenchError(f"the job stored {sorted(stored)}, expected {list(databases)}")
        for child in site.share.iterdir():
            if child.is_dir():
                shutil.rmtree(child)
            else:
                child.unlink()
        return stored

    # ------------------------------------------------------------------ baselines

    def shell(self, script: str, env: Mapping[str, str], cwd: Path | None = None) -> Timing:
        """Run `script` with bash (pipefail); return its timing; raise BenchError on failure."""
        cpu, server, began = children_cpu(), self.server_cpu(), time.perf_counter()
        result = subprocess.run(
            ["bash", "-o", "pipefail", "-c", script],
            env=dict(env),
            cwd=cwd or self.root,
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - began
        timing = Timing(wall, children_cpu() - cpu, self.server_cpu() - server)
        if result.returncode != 0:
            raise BenchError(f"baseline failed ({result.returncode}): {result.stderr[-2000:]}")
        return timing

    def scratch(self, name: str) -> Path:
        """Return an empty directory for a baseline's files."""
        path = self.root / "scratch" / name
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path


def quote(value: str | Path) -> str:
    """Quote one shell word."""
    return shlex.quote(str(value))


def repo_relative(path: Path) -> str:
    """Return `path` relative to the repository when it is inside it."""
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)
