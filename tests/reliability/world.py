"""The world of the reliability suite: recorded sites, a client's databases and faulty tools.

Every job runs as the scheduler runs it (a child `python -m entrypoints.<job>`), against a real
PostgreSQL server and the real gpg. Faults come from small shell wrappers around the real tools
(pg_dump, gpg) or from stand-ins for what cannot run here (`mount`). Every wrapper records its
argv and its parent's (the job's) command line and environment under `<site>/captures`, so the
final secret scan (test_zz_secret_scan.py) can search them.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from psycopg import sql

from tests.support.faketime import faketime_env
from tests.support.gpg import KeyPair
from tests.support.jobs import REPO, JobResult, Site, b64
from tests.support.postgres import PostgresServer

CAPTURES = "captures"
JOB_TIMEOUT_SECONDS = 120.0
WAIT_TIMEOUT_SECONDS = 30.0
BIG_TABLES = 3
BIG_ROWS = 30_000
"""Three tables of 30,000 rows of hex text: a dump of a few MB, more than any pipe holds."""


# ---------------------------------------------------------------- sites


@dataclass
class StartedJob:
    """A job started in a session (and process group) of its own, so it can be killed whole."""

    process: subprocess.Popen[str]
    site: RecordedSite

    @property
    def pid(self) -> int:
        """Return the job's process id."""
        return self.process.pid

    def kill(self) -> None:
        """Kill the job and every child it started with SIGKILL, as an operator's `kill -9`."""
        os.killpg(self.process.pid, signal.SIGKILL)

    def finish(self, timeout: float = JOB_TIMEOUT_SECONDS) -> JobResult:
        """Wait for the job to end and return (and record) what it left."""
        try:
            stdout, stderr = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            stdout, stderr = self.process.communicate()
            pytest.fail(f"the job did not end within {timeout:g} s: {stdout}{stderr}")
        result = JobResult(self.process.returncode, stdout, stderr)
        self.site.results.append(result)
        return result


@dataclass
class RecordedSite(Site):
    """A Site that keeps every job's output and can start jobs without waiting for them."""

    results: list[JobResult] = field(default_factory=list)
    remembered: list[tuple[str, str]] = field(default_factory=list)

    @property
    def captures(self) -> Path:
        """Return the directory the wrappers record their command lines in."""
        path = self.root / CAPTURES
        path.mkdir(exist_ok=True)
        return path

    def configure(self, **sections: dict[str, object]) -> None:
        """Replace the master config's sections given and write the file again."""
        self.settings.update(sections)
        self.write_master_config()

    def run(
        self,
        job: str,
        *args: str,
        env: dict[str, str] | None = None,
        timeout: float = JOB_TIMEOUT_SECONDS,
        at: str | None = None,
    ) -> JobResult:
        """Run a job as the scheduler does and record its output for the secret scan."""
        result = super().run(job, *args, env=env, timeout=timeout, at=at)
        self.results.append(result)
        return result

    def start(
        self, job: str, *args: str, env: dict[str, str] | None = None, at: str | None = None
    ) -> StartedJob:
        """Start `python -m entrypoints.<job> ARGS` in a new session; return at once.

        `at` runs the job under libfaketime with that FAKETIME spec ("@2029-11-28 12:00:00"
        starts the clock there and lets it run).
        """
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("LTS_")}
        child_env["LTS_CONFIG"] = str(self.config_path)
        child_env.update(env or {})
        if at:
            child_env.update(faketime_env(at))
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                f"entrypoints.{job}",
                *args,
            ],
            cwd=REPO,
            env=child_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        return StartedJob(process, self)

    def remember_share(self) -> None:
        """Keep the share's file names and small text files for the scan (before an unmount)."""
        self.remembered.extend(share_texts(self.share))

    def texts(self) -> Iterator[tuple[str, str]]:
        """Yield (where, text) for everything this site's jobs produced or left behind."""
        yield "logs", self.logs()
        for number, result in enumerate(self.results):
            yield f"stdout of job {number}", result.stdout
            yield f"stderr of job {number}", result.stderr
        yield from self.remembered
        yield from share_texts(self.share)
        captures = self.root / CAPTURES
        if captures.is_dir():
            for path in sorted(captures.iterdir()):
                yield f"capture {path.name}", path.read_bytes().decode("utf-8", "replace")


def share_texts(share: Path) -> list[tuple[str, str]]:
    """Return (where, text) for the share's file names and its files that are not encrypted."""
    texts: list[tuple[str, str]] = []
    if share.is_dir():
        for path in sorted(share.rglob("*")):
            texts.append((f"share name {path}", str(path.relative_to(share))))
            if path.is_file() and not path.is_symlink() and not path.name.endswith(".gpg"):
                texts.append((f"share file {path}", path.read_bytes().decode("utf-8", "replace")))
    return texts


@dataclass(repr=False)
class SecretLedger:
    """The session's sites and the secrets their jobs were given, for the final scan."""

    secrets: set[str] = field(default_factory=set)
    sites: list[RecordedSite] = field(default_factory=list)
    texts: list[tuple[str, str]] = field(default_factory=list)
    short_roots: list[Path] = field(default_factory=list)
    """Site roots outside pytest's temp dir, removed after the scan."""

    def __repr__(self) -> str:
        """Return counts only: the ledger holds secrets and would flood failure reports."""
        return f"SecretLedger({len(self.secrets)} secrets, {len(self.sites)} sites)"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # hypothesis prints fixtures with this hook instead of the dataclass fields.
        printer.text(repr(self))

    def register(self, site: RecordedSite, *values: str) -> RecordedSite:
        """Remember a site and the secrets it used; return the site."""
        self.sites.append(site)
        self.add_secrets(*values)
        return site

    def add_secrets(self, *values: str) -> None:
        """Remember secret values (each long enough not to occur by chance)."""
        for value in values:
            assert len(value) >= 12, "a secret for the scan must be long enough to be unique"
            self.secrets.add(value)

    def add_text(self, where: str, text: str) -> None:
        """Remember an output produced in-process (fuzzing) for the scan."""
        self.texts.append((where, text))

    def leaks(self) -> list[str]:
        """Return `where: secret…` for every secret found in any recorded output."""
        found: list[str] = []
        everything = [*self.texts]
        for site in self.sites:
            everything.extend(site.texts())
        for where, text in everything:
            found.extend(f"{where}: {value[:4]}…" for value in self.secrets if value in text)
        return found


# ---------------------------------------------------------------- the client's databases


@dataclass(frozen=True)
class Cluster:
    """A client's backup role and databases on one server."""

    server: PostgresServer
    role: str
    password: str = field(repr=False)
    small: tuple[str, ...]
    big: str

    @property
    def names(self) -> tuple[str, ...]:
        """Return every database of the client, the big one first."""
        return (self.big, *self.small)


def make_cluster(
    server: PostgresServer, small: int = 2, big_tables: int = BIG_TABLES, big_rows: int = BIG_ROWS
) -> Cluster:
    """Create a backup role, `small` tiny databases and one big one (a dump of a few MB)."""
    tag = secrets.token_hex(3)
    role, password = f"backup_{tag}", "pw-" + secrets.token_urlsafe(24)
    server.create_role(role, password, "pg_read_all_data")
    names = tuple(f"small_{number}_{tag}" for number in range(small))
    for name in names:
        server.create_database(name)
        server.execute(
            "CREATE TABLE items (id int PRIMARY KEY, label text);"
            "INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 500) g;",
            dbname=name,
        )
    big = f"big_{tag}"
    server.create_database(big)
    for table in range(big_tables):
        # md5 text barely compresses, so the dump stays big after pg_dump's gzip.
        statement = sql.SQL(
            "CREATE TABLE {} AS SELECT g AS id, md5(g::text || {}) || md5(g::text || {}) AS label"
            " FROM generate_series(1, {}) g"
        ).format(
            sql.Identifier(f"t{table}"),
            sql.Literal(f"a{table}"),
            sql.Literal(f"b{table}"),
            sql.Literal(big_rows),
        )
        server.execute(statement, dbname=big)
    return Cluster(server, role, password, names, big)


def client_values(
    cluster: Cluster, key: KeyPair, share: Path, only: tuple[str, ...] | None = None
) -> dict[str, str]:
    """Return a file:// client config backing up `only` (all the cluster's databases by default).

    Every other database of the (shared) server is excluded, as it stands when this is called.
    """
    wanted = set(cluster.names if only is None else only)
    with cluster.server.connect() as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE NOT datistemplate").fetchall()
    others = sorted(str(row[0]) for row in rows if row[0] not in wanted)
    assert all("," not in name for name in others), "a comma cannot be excluded"
    return {
        "client-name": "acme",
        "postgresql-host": cluster.server.host,
        "postgresql-port": str(cluster.server.port),
        "postgresql-auth": "password",
        "postgresql-user": cluster.role,
        "postgresql-secret": cluster.password,
        "postgresql-sslmode": "disable",
        "key-name": "acme",
        "public-key": b64(key.public_armored),
        "exclude-databases": ",".join(others),
        "storage-unc": f"file://{share}",
        "end-of-month-retention": "400",
        "end-of-year-retention": "3650",
    }


# ---------------------------------------------------------------- faulty tools

_RECORD = """\
record="{captures}/{tool}.$$.$RANDOM"
printf '%s\\n' "$@" > "$record.argv"
tr '\\0' '\\n' < /proc/$PPID/cmdline > "$record.parent-cmdline" 2>/dev/null
cat /proc/$PPID/environ > "$record.parent-environ" 2>/dev/null
"""

SPY = 'exec "$REAL" "$@"\n'
"""The dump runs unchanged."""

FAIL = 'echo "pg_dump: error: refused by the reliability test" >&2\nexit 1\n'
"""Every dump fails at once."""


def slow(seconds: float) -> str:
    """Return a body that holds the dump's stream for `seconds` (pg_dump blocks on a full pipe)."""
    return f'set -o pipefail\n"$REAL" "$@" | {{ sleep {seconds}; cat; }}\n'


def killed_after(written: int) -> str:
    """Return a body whose real pg_dump is killed with SIGKILL once it wrote `written` bytes."""
    return (
        "(\n"
        '  while kill -0 "$$" 2>/dev/null; do\n'
        "    done=$(sed -n 's/^wchar: //p' /proc/$$/io 2>/dev/null)\n"
        f'    if [ "${{done:-0}}" -ge {written} ]; then kill -KILL "$$"; exit; fi\n'
        "    sleep 0.005\n"
        "  done\n"
        ") >/dev/null 2>&1 </dev/null &\n"
        # exec keeps the pid: the watcher above kills the real pg_dump, not a wrapper.
        'exec "$REAL" "$@"\n'
    )


def pg_bin_dir(root: Path, server: PostgresServer, site: RecordedSite, body: str) -> Path:
    """Make a `[backup] pg_bin_dir` whose pg_dump records itself, then runs `body` for dumps.

    `--version`, `--help` and the compression probe always reach the real pg_dump. A dump leaves
    a `pg_dump.*.dump` marker in the captures, so a test can tell that dumping has begun.
    """
    bin_dir = root / f"pg-bin-{secrets.token_hex(3)}"
    bin_dir.mkdir()
    real = server.bin_dir
    script = (
        "#!/bin/bash\n"
        f'REAL="{real}/pg_dump"\n'
        + _RECORD.format(captures=site.captures, tool="pg_dump")
        + 'case "$*" in --version*|-V*|*--help*|*lts-probe*) exec "$REAL" "$@";; esac\n'
        + 'touch "$record.dump"\n'
        + body
    )
    (bin_dir / "pg_dump").write_text(script)
    (bin_dir / "pg_dump").chmod(0o755)
    (bin_dir / "pg_dumpall").symlink_to(real / "pg_dumpall")
    (bin_dir / "pg_restore").symlink_to(real / "pg_restore")
    return bin_dir


def killing_gpg_dir(root: Path, site: RecordedSite) -> Path:
    """Make a directory whose `gpg` (first on the job's PATH) dies by SIGKILL mid-encryption.

    Key imports and listings reach the real gpg unchanged; an `--encrypt` streams its first KiB
    and then the process the job started is killed.
    """
    real = shutil.which("gpg")
    assert real is not None, "gpg is installed"
    bin_dir = root / "gpg-bin"
    bin_dir.mkdir()
    (bin_dir / "gpg").write_text(
        "#!/bin/bash\n"
        + _RECORD.format(captures=site.captures, tool="gpg")
        + 'case " $* " in *" --encrypt "*) ;; *) exec "'
        + real
        + '" "$@";; esac\n'
        + 'touch "$record.encrypt"\n'
        + f'"{real}" "$@" | head -c 1024\n'
        + 'kill -KILL "$$"\n'
    )
    (bin_dir / "gpg").chmod(0o755)
    return bin_dir


def failing_mount_dir(root: Path, site: RecordedSite) -> Path:
    """Make `mount` and `umount` stand-ins: mount fails as mount.cifs does on a refused login."""
    bin_dir = root / "mount-bin"
    bin_dir.mkdir()
    (bin_dir / "mount").write_text(
        "#!/bin/bash\n"
        + _RECORD.format(captures=site.captures, tool="mount")
        + 'echo "mount error(13): Permission denied" >&2\n'
        + 'echo "Refer to the mount.cifs(8) manual page (e.g. man mount.cifs)" >&2\n'
        + "exit 32\n"
    )
    (bin_dir / "umount").write_text(
        "#!/bin/bash\n" + _RECORD.format(captures=site.captures, tool="umount") + "exit 0\n"
    )
    for name in ("mount", "umount"):
        (bin_dir / name).chmod(0o755)
    return bin_dir


def path_with(directory: Path) -> dict[str, str]:
    """Return a job environment whose PATH finds `directory` first."""
    return {"PATH": f"{directory}:{os.environ.get('PATH', os.defpath)}"}


def captured(site: RecordedSite, tool: str, suffix: str) -> list[Path]:
    """Return the capture files one wrapper left (suffix: argv, dump, encrypt, ...)."""
    return sorted(site.captures.glob(f"{tool}.*.{suffix}"))


# ---------------------------------------------------------------- the share and the host


def wait_for(condition: Callable[[], object], what: str, job: StartedJob | None = None) -> None:
    """Poll `condition` until it holds; fail (killing `job`) when it never does."""
    deadline = time.monotonic() + WAIT_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        if job is not None and job.process.poll() is not None:
            result = job.finish()
            pytest.fail(f"the job ended before {what}: {result.code} {result.stdout}")
        time.sleep(0.02)
    if job is not None:
        job.kill()
    pytest.fail(f"timed out waiting for {what}")


def period_now(eoy_month: int) -> str:
    """Return the tier and period folder a run started now lands in."""
    now = datetime.now(UTC)
    if now.month == eoy_month:
        return f"end-of-year/FY{now.year}"
    return f"end-of-month/{now.year}-{now.month:02d}"


def published_runs(share: Path) -> list[Path]:
    """Return every published run directory on the share, oldest first."""
    return sorted(
        path
        for path in share.glob("end-of-*/*/*")
        if path.is_dir() and not path.name.endswith(".partial")
    )


def partial_debris(share: Path) -> list[Path]:
    """Return everything on the share still named `*.partial`."""
    return sorted(share.rglob("*.partial"))


def snapshot(directory: Path) -> dict[str, bytes]:
    """Return every file below `directory` and its content."""
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def flock_is_free(path: Path) -> bool:
    """Tell whether an exclusive flock on `path` can be taken now (then drop it)."""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


@contextmanager
def mounted(directory: Path, *options: str, bind: bool = False) -> Iterator[None]:
    """Mount a tmpfs (or a read-only bind of itself) on `directory`; skip when we cannot.

    Size-limited and read-only file systems need root (CAP_SYS_ADMIN): without it the test is
    skipped with the reason, never silently passed.
    """
    if os.geteuid() != 0:
        pytest.skip("mounting a size-limited or read-only file system needs root")
    if bind:
        commands = [
            ["mount", "--bind", str(directory), str(directory)],
            ["mount", "-o", "remount,bind,ro", str(directory)],
        ]
    else:
        commands = [["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(directory)]]
    mounts = 0
    for argv in commands:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            _unmount(directory, mounts)
            pytest.skip(f"cannot mount here ({' '.join(argv[:3])}): {done.stderr.strip()}")
        mounts = 1 if bind else mounts + 1
    try:
        yield
    finally:
        _unmount(directory, mounts)


def _unmount(directory: Path, times: int) -> None:
    for _ in range(times):
        done = subprocess.run(["umount", str(directory)], capture_output=True, check=False)
        if done.returncode != 0:
            subprocess.run(["umount", "-l", str(directory)], capture_output=True, check=False)
