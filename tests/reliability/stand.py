"""A test stand for stopped and killed jobs: a client with a published run, slow tools on demand.

`Stand` holds one recorded site of the reliability cluster, the client config, a restore config
with the passphrase-protected private key, and one published backup run; it builds tool
directories whose pg_dump, pg_restore or gpg are slowed down (tests/reliability/throttle.py),
and runs or starts each job with the same command line an operator would give.
"""

from __future__ import annotations

import json
import secrets
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from psycopg import sql

from tests.reliability.world import (
    _RECORD,
    Cluster,
    RecordedSite,
    StartedJob,
    captured,
    client_values,
    path_with,
    published_runs,
)
from tests.support.gpg import KeyPair
from tests.support.jobs import JobResult, b64

THROTTLE = Path(__file__).with_name("throttle.py")


def throttled(rate: int) -> str:
    """Return a wrapper body that passes the real tool's output on at `rate` bytes a second."""
    return f'exec "{sys.executable}" -I "{THROTTLE}" {rate} "$REAL" "$@"\n'


def delayed(seconds: float) -> str:
    """Return a wrapper body that waits `seconds`, then becomes the real tool (same pid)."""
    return f'exec "{sys.executable}" -I "{THROTTLE}" --sleep {seconds} "$REAL" "$@"\n'


INTO_A_DATABASE = 'case " $* " in *" --dbname="*) ;; *) exec "$REAL" "$@";; esac\n'
"""A pg_restore wrapper's first line: only a restore into a database goes on to the body; a
reading of the archive (`--list`, `--use-list --file=-`) runs the real tool at once."""


@dataclass
class Stand:
    """One client on the reliability cluster, backed up once, and its jobs."""

    site: RecordedSite
    cluster: Cluster
    key: KeyPair
    url: str = ""
    restore_url: str = ""
    outputs: Path = field(default_factory=Path)
    rekey_urls: dict[str, str] = field(default_factory=dict)
    """The client config of each key a rekey moves the runs to (`old`, `new`)."""
    both_url: str = ""
    """A restore config holding both keys (each with its passphrase), once rekeys are allowed."""

    def __post_init__(self) -> None:
        self.url = self.site.write_client_config(
            "acme", client_values(self.cluster, self.key, self.site.share)
        )
        assert self.key.passphrase is not None
        self.restore_url = self.site.write_client_config(
            "restore",
            {
                "private-key": b64(self.key.secret_armored),
                "private-key-passphrase": self.key.passphrase,
                "backup-config-host": self.url,
            },
        )
        self.outputs = self.site.root / "outputs"
        self.outputs.mkdir(exist_ok=True)

    # ------------------------------------------------------------ command lines

    def argv(self, job: str, target: str = "") -> list[str]:
        """Return the command line of `job` (restore into `target`, decrypt into `target`)."""
        client = ["acme", self.url, "-", "-"]
        restore = ["--restore-vault", self.restore_url, "--database", self.cluster.big]
        if job == "backup":
            return ["acme", "6", self.url, "-", "-"]
        if job in ("retention", "list", "check"):
            return client
        if job == "restore":
            return [*client, *restore, "--target-database", target, "--clean"]
        if job == "decrypt":
            return [*client, *restore, "--output", str(self.outputs / target)]
        vault = ["--restore-vault", self.both_url or self.restore_url]
        if job == "drill":
            server = self.cluster.server
            target_server = ["--target-host", server.host, "--target-port", str(server.port)]
            return [
                *client, *vault, "--database", self.cluster.big, *target_server,
                "--target-user", self.cluster.role,
            ]  # fmt: skip
        if job == "rekey":
            return ["acme", self.rekey_urls[target], "-", "-", *vault]
        raise ValueError(job)

    def job_env(self, job: str, env: dict[str, str] | None) -> dict[str, str]:
        """Return the job's extra environment: a drill's target login reads a password file.

        The operator's PGPASSFILE rather than PGPASSWORD: the wrappers record the job's
        environment for the secret scan, which would take the operator's own variable for a leak.
        """
        extra = {"PGPASSFILE": str(self.pgpass())} if job == "drill" else {}
        return {**extra, **(env or {})}

    def pgpass(self) -> Path:
        """Write (once) and return the operator's 0600 password file for the drill's login."""
        path = self.site.root / "operator.pgpass"
        if not path.exists():
            server = self.cluster.server
            path.touch(mode=0o600)
            path.write_text(
                f"{server.host}:{server.port}:*:{self.cluster.role}:{self.cluster.password}\n"
            )
        return path

    def run(self, job: str, target: str = "", env: dict[str, str] | None = None) -> JobResult:
        """Run `job` to its end."""
        return self.site.run(job, *self.argv(job, target), env=self.job_env(job, env))

    def timed(self, job: str, target: str = "") -> float:
        """Run `job` to its end once, as a kill campaign's yardstick; return how long it took."""
        started = time.monotonic()
        result = self.run(job, target)
        assert (result.code, result.failures) == (0, []), result.stdout + result.stderr
        return time.monotonic() - started

    def start(self, job: str, target: str = "", env: dict[str, str] | None = None) -> StartedJob:
        """Start `job` in a session of its own and return at once."""
        return self.site.start(job, *self.argv(job, target), env=self.job_env(job, env))

    def allow_rekeys(self, new: KeyPair) -> None:
        """Write the client config of a second key and a restore config holding both keys."""
        assert self.key.passphrase is not None
        assert new.passphrase is not None
        values = client_values(self.cluster, self.key, self.site.share)
        new_values = {
            **values,
            "public-key": b64(new.public_armored),
            "key-name": new.fingerprint,
        }
        self.rekey_urls = {
            "old": self.url,
            "new": self.site.write_client_config("acme-new", new_values),
        }
        self.both_url = self.site.write_client_config(
            "restore-both",
            {
                "private-key": b64(self.key.secret_armored + new.secret_armored),
                "private-key-passphrases": json.dumps([self.key.passphrase, new.passphrase]),
            },
        )

    def restoring(self) -> bool:
        """Tell whether a pg_restore into a database (not a reading of the archive) has started."""
        return any(
            any(arg.startswith("--dbname=") for arg in run.with_suffix(".argv").read_text().split())
            for run in captured(self.site, "pg_restore", "run")
        )

    def scratch_databases(self) -> list[str]:
        """Return the drill scratch databases on the cluster's server."""
        with self.cluster.server.connect() as conn:
            rows = conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE 'lts\\_drill\\_%'"
            ).fetchall()
        return sorted(str(row[0]) for row in rows)

    def new_target(self, what: str) -> str:
        """Return a fresh target database (or output file) name."""
        return f"{what}_{secrets.token_hex(4)}"

    def latest_dump(self) -> Path:
        """Return the newest stored dump of the big database (a run may hold it failed)."""
        for run in reversed(published_runs(self.site.share)):
            for dump in run.glob(f"{self.cluster.big}.dump*.gpg"):
                return dump
        raise AssertionError("no published run holds a dump of the big database")

    # ------------------------------------------------------------ slow tools

    def tools(self, **bodies: str) -> Path:
        """Make a `[backup] pg_bin_dir` of the server's tools, `bodies` replacing some of them.

        Each replaced tool records itself like the other wrappers (for the secret scan); its
        `--version` and the compression probe reach the real tool at once.
        """
        bin_dir = self.site.root / f"tools-{secrets.token_hex(3)}"
        bin_dir.mkdir()
        for real in sorted(self.cluster.server.bin_dir.iterdir()):
            if real.name not in bodies:
                (bin_dir / real.name).symlink_to(real)
        for tool, body in bodies.items():
            script = (
                "#!/bin/bash\n"
                f'REAL="{self.cluster.server.bin_dir / tool}"\n'
                + _RECORD.format(captures=self.site.captures, tool=tool)
                + 'case "$*" in --version*|-V*|*--help*|*lts-probe*) exec "$REAL" "$@";; esac\n'
                + 'touch "$record.run"\n'
                + body
            )
            (bin_dir / tool).write_text(script)
            (bin_dir / tool).chmod(0o755)
        return bin_dir

    def use_tools(self, bin_dir: Path | None) -> None:
        """Make the jobs use `bin_dir` (None: the server's own tools)."""
        chosen = bin_dir or self.cluster.server.bin_dir
        self.site.configure(backup={"pg_bin_dir": str(chosen), "worker_pool_size": 2})

    def slow_gpg(self, body: str) -> dict[str, str]:
        """Return a job environment whose gpg runs `body` for decryptions (real gpg otherwise)."""
        real = shutil.which("gpg")
        assert real is not None
        bin_dir = self.site.root / f"gpg-{secrets.token_hex(3)}"
        bin_dir.mkdir()
        (bin_dir / "gpg").write_text(
            "#!/bin/bash\n"
            f'REAL="{real}"\n'
            + _RECORD.format(captures=self.site.captures, tool="gpg")
            + 'case " $* " in *" --decrypt "*) ;; *) exec "$REAL" "$@";; esac\n'
            + 'touch "$record.run"\n'
            + body
        )
        (bin_dir / "gpg").chmod(0o755)
        return path_with(bin_dir)

    def allow_restores(self) -> None:
        """Let the backup role create the restore targets."""
        self.cluster.server.execute(
            sql.SQL("ALTER ROLE {} CREATEDB").format(sql.Identifier(self.cluster.role))
        )

    def database_exists(self, name: str) -> bool:
        """Tell whether a database of that name exists on the cluster's server."""
        with self.cluster.server.connect() as conn:
            row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        return row is not None
