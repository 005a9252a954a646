"""Back up every database of one client onto its mounted share (SPEC sections 5.1, 7).

The run is built under `<tier>/<period>/<RUN_ID>.partial/` and renamed to its final name only once
the manifest, SHA256SUMS and RESTORE.txt are written, so nothing that looks complete is ever
incomplete. Databases are dumped in parallel, largest first; one failing database never stops the
others. On any failure the keyring is disposed and the share lock released; an unpublished run
directory is removed. Failure prefix: `<client> <host>` (per database `<client> <host> <db>`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePosixPath

from domain.framework.definition import node
from domain.framework.fanout import fan_out
from domain.framework.machine import Step, describe
from domain.framework.results import Result, failures
from domain.machines.backup_database import BackupDatabaseMachine, PreviousDump
from domain.machines.catalog import RunCatalog
from domain.machines.mount import ClientContext
from domain.machines.pruning import PruneAndUnlockMachine, Pruning
from domain.machines.retention import RetentionOptions, RetentionPorts
from domain.machines.share_lock import ShareLock
from domain.models.client_config import ClientConfig
from domain.models.manifest import (
    MANIFEST_FILE,
    RESTORE_FILE,
    SUMS_FILE,
    DumpRecord,
    DumpStatus,
    Manifest,
)
from domain.models.policy import BackupPolicy
from domain.models.run import PARTIAL_SUFFIX, Period, RunId
from domain.rules.naming import GLOBALS_FILE
from domain.rules.tiering import classify
from ports.clock import Clock
from ports.console import Console
from ports.database import Database, DatabaseInfo, ServerInfo, ServerTarget
from ports.dumper import Dumper, DumperInfo
from ports.encryptor import Encryptor, RecipientInfo
from ports.errors import InvalidManifestError, LockHeldError, LtsError, ShareUnavailableError
from ports.file_share import FileShare
from ports.task_runner import TaskRunner

logger = logging.getLogger("lts.backup")


@dataclass(frozen=True, slots=True)
class BackupPorts:
    """The ports a backup run talks through, besides the share."""

    database: Database
    dumper: Dumper
    encryptor: Encryptor
    clock: Clock
    runner: TaskRunner
    retention_runner: TaskRunner
    console: Console


def server_target(config: ClientConfig) -> ServerTarget:
    """Return how to reach the client's PostgreSQL server."""
    return ServerTarget(
        host=config.postgresql_host,
        port=config.postgresql_port,
        user=config.login_user,
        auth=str(config.postgresql_auth),
        secret=config.postgresql_secret,
        sslmode=config.sslmode,
    )


class BackupClientMachine(PruneAndUnlockMachine):
    """Dump, encrypt and store every database of a client as one run, then publish it."""

    def __init__(
        self,
        context: ClientContext,
        *,
        ports: BackupPorts,
        policy: BackupPolicy,
        lock_owner: str,
        retention: RetentionOptions | None = None,
    ) -> None:
        super().__init__()
        self._config = context.config
        self._share: FileShare = context.share
        self._ports = ports
        self._policy = policy
        self._target = server_target(context.config)
        self._catalog = RunCatalog(context.share)
        self._started: datetime | None = None
        self._run_id: RunId | None = None
        self._period: Period | None = None
        self._recipients: RecipientInfo | None = None
        self._server: ServerInfo | None = None
        self._dumper_info: DumperInfo | None = None
        self._databases: list[DatabaseInfo] = []
        self._previous: dict[str, PreviousDump] = {}
        self._globals: DumpRecord | None = None
        self._records: list[DumpRecord] = []
        self._published = False
        self.share_lock = ShareLock(
            share=context.share,
            clock=ports.clock,
            client=context.config.client_name,
            owner=lock_owner,
            max_age=policy.share_lock_max_age,
        )
        self.pruning = Pruning(
            client=context.config.client_name,
            end_of_month_days=context.config.end_of_month_retention,
            end_of_year_days=context.config.end_of_year_retention,
            share=context.share,
            ports=RetentionPorts(
                clock=ports.clock, runner=ports.retention_runner, console=ports.console
            ),
            options=retention or RetentionOptions(),
        )

    @property
    def prefix(self) -> str:
        """Return `<client> <host>`."""
        return f"{self._config.client_name} {self._config.postgresql_host}"

    # ------------------------------------------------------------------ nodes

    @node(
        entry=True,
        happy=("start_run",),
        unhappy=("report_results", "start_run"),
        on_exception="report_results",
    )
    def take_share_lock(self) -> Step:
        """Write the share's lock marker, so two scheduler agents never run one client at once."""
        try:
            took_over = self.share_lock.take()
        except LockHeldError as exc:
            return self.failure(self.report_results, str(exc))
        if took_over:
            return self.failure(self.start_run, took_over)
        return self.success(self.start_run)

    @node(happy=("load_key",), unhappy=("release_share_lock",), on_exception="release_share_lock")
    def start_run(self) -> Step:
        """Name the run and create its partial directory in its tier and period."""
        self._started = self._ports.clock.now()
        self._period = classify(
            self._started,
            eoy_month=self._policy.eoy_month,
            timezone=self._policy.timezone,
            offset_months=self._policy.period_offset_months,
        )
        self._run_id = self._free_run_id(RunId.at(self._started))
        self._share.make_dirs(self._partial_dir)
        logger.info("run %s in %s", self._run_id, self._period.folder)
        return self.success(self.load_key)

    @node(happy=("inspect_server",), unhappy=("discard_run",), on_exception="discard_run")
    def load_key(self) -> Step:
        """Import the client's public key into a throw-away keyring and check its name."""
        self._recipients = self._ports.encryptor.load_recipients(
            self._config.public_key, self._config.key_name, self._config.escrow_public_key
        )
        return self.success(self.inspect_server)

    @node(happy=("discover_databases",), unhappy=("discard_run",), on_exception="discard_run")
    def inspect_server(self) -> Step:
        """Read the server version and pick a pg_dump that is new enough for it."""
        self._server = self._ports.database.server_info(self._target)
        self._dumper_info = self._ports.dumper.select(self._server)
        return self.success(self.discover_databases)

    @node(happy=("find_previous_run",), unhappy=("discard_run",), on_exception="discard_run")
    def discover_databases(self) -> Step:
        """List the databases to back up, largest first."""
        exclude = self._policy.exclude_everywhere | self._config.exclude_databases
        found = self._ports.database.list_databases(self._target, exclude)
        self._databases = sorted(found, key=lambda db: (-db.size, db.name))
        logger.info("databases: %s", ", ".join(db.name for db in self._databases) or "none")
        return self.success(self.find_previous_run)

    @node(happy=("dump_globals",), unhappy=("dump_globals",), on_exception="dump_globals")
    def find_previous_run(self) -> Step:
        """Read the newest earlier run's manifest, to spot dumps that shrank."""
        runs = self._catalog.all_runs()
        if not runs:
            return self.success(self.dump_globals)
        newest = max(runs, key=lambda run: run.run_id)
        try:
            digest = self._catalog.digest(newest)
        except (InvalidManifestError, ShareUnavailableError) as exc:
            return self.failure(self.dump_globals, f"cannot compare with the previous run: {exc}")
        self._previous = {
            r.name: PreviousDump(str(newest.run_id), r.bytes)
            for r in digest.databases
            if r.status is DumpStatus.OK
        }
        return self.success(self.dump_globals)

    @node(happy=("dump_databases",), unhappy=("dump_databases",), on_exception="dump_databases")
    def dump_globals(self) -> Step:
        """Store roles and tablespaces (without role passwords), encrypted."""
        started = self._ports.clock.now()
        try:
            stream = self._ports.encryptor.encrypt(self._ports.dumper.dump_globals(self._target))
            with closing(stream):
                receipt = self._share.write_stream(self._partial_dir / GLOBALS_FILE, stream)
        except LtsError as exc:
            self._globals = DumpRecord(
                name="globals",
                file=GLOBALS_FILE,
                status=DumpStatus.FAILED,
                error=describe(exc),
                started=started,
                finished=self._ports.clock.now(),
            )
            return self.failure(self.dump_databases, f"globals: {describe(exc)}")
        self._globals = DumpRecord(
            name="globals",
            file=GLOBALS_FILE,
            bytes=receipt.bytes,
            sha256=receipt.sha256,
            status=DumpStatus.OK,
            started=started,
            finished=self._ports.clock.now(),
        )
        return self.success(self.dump_databases)

    @node(happy=("write_manifest",), unhappy=("discard_run",), on_exception="discard_run")
    def dump_databases(self) -> Step:
        """Back up every database in the worker pool; their results land before this one."""
        children = [self._database_machine(db) for db in self._databases]
        self.add_results(fan_out(self._ports.runner, children))
        self._records = [self._record_of(child) for child in children]
        return self.success(self.write_manifest)

    @node(happy=("publish_run",), unhappy=("discard_run",), on_exception="discard_run")
    def write_manifest(self) -> Step:
        """Write manifest.json, SHA256SUMS and RESTORE.txt into the partial run."""
        manifest = self._manifest()
        for name, content in (
            (SUMS_FILE, manifest.sha256sums()),
            (RESTORE_FILE, manifest.restore_text()),
            (MANIFEST_FILE, manifest.to_json()),
        ):
            self._share.write_stream(self._partial_dir / name, [content])
        return self.success(self.publish_run)

    @node(happy=("dispose_key",), unhappy=("discard_run",), on_exception="discard_run")
    def publish_run(self) -> Step:
        """Rename the partial run to its final name: from now on it is a complete backup run."""
        self._share.rename(self._partial_dir, self._final_dir)
        self._published = True
        logger.info("published %s", self._final_dir)
        return self.success(self.dispose_key)

    @node(happy=("dispose_key",), unhappy=("dispose_key",), on_exception="dispose_key")
    def discard_run(self) -> Step:
        """Remove the unpublished run directory, so no half-made run stays behind."""
        if self._run_id is not None and self._share.exists(self._partial_dir):
            self._share.delete_tree(self._partial_dir)
        return self.success(self.dispose_key)

    @node(
        happy=("end_of_month_retention",),
        unhappy=("end_of_month_retention",),
        on_exception="end_of_month_retention",
    )
    def dispose_key(self) -> Step:
        """Remove the throw-away keyring."""
        self._ports.encryptor.dispose()
        return self.success(self.end_of_month_retention)

    # ------------------------------------------------------------------ helpers

    def summary(self, results: list[Result]) -> str:
        """Return one line: databases ok and failed, where the run went, failures."""
        ok = sum(1 for r in self._records if r.status is DumpStatus.OK)
        where = f"{self._period.folder}/{self._run_id}" if self._period and self._run_id else "-"
        state = "published" if self._published else "not published"
        return (
            f"backup {self._config.client_name}: {ok} of {len(self._records)} databases ok, "
            f"run {where} {state}, {len(failures(results))} failures"
        )

    @property
    def _partial_dir(self) -> PurePosixPath:
        return PurePosixPath(self._require_period().folder, f"{self._run_id}{PARTIAL_SUFFIX}")

    @property
    def _final_dir(self) -> PurePosixPath:
        return PurePosixPath(self._require_period().folder, str(self._run_id))

    def _free_run_id(self, run_id: RunId) -> RunId:
        """Return `run_id`, moved on by seconds past any run (or debris) already named so.

        A rerun in the same second as a killed run must never adopt its partial directory; the
        manifest keeps the real start time.
        """
        folder = self._require_period().folder
        while any(
            self._share.exists(PurePosixPath(folder, f"{run_id}{suffix}"))
            for suffix in ("", PARTIAL_SUFFIX)
        ):
            run_id = RunId(run_id.started + timedelta(seconds=1))
        return run_id

    def _require_period(self) -> Period:
        if self._period is None:
            raise RuntimeError("start_run has not run")
        return self._period

    def _database_machine(self, database: DatabaseInfo) -> BackupDatabaseMachine:
        return BackupDatabaseMachine(
            client=self._config.client_name,
            target=self._target,
            database=database,
            run_dir=self._partial_dir,
            share=self._share,
            dumper=self._ports.dumper,
            encryptor=self._ports.encryptor,
            clock=self._ports.clock,
            policy=self._policy,
            previous=self._previous.get(database.name),
        )

    def _record_of(self, child: BackupDatabaseMachine) -> DumpRecord:
        if child.record is not None:
            return child.record
        now = self._ports.clock.now()
        return DumpRecord(
            name=child.database,
            file="",
            status=DumpStatus.FAILED,
            error="the backup of this database broke (see the log)",
            started=now,
            finished=now,
        )

    def _manifest(self) -> Manifest:
        if not (
            self._run_id
            and self._period
            and self._started
            and self._recipients
            and self._server
            and self._dumper_info
        ):
            raise RuntimeError("write_manifest ran before the run was set up")
        return Manifest(
            client=self._config.client_name,
            run_id=str(self._run_id),
            tier=self._period.tier,
            period=self._period.label,
            eoy_month=self._policy.eoy_month,
            started=self._started,
            finished=self._ports.clock.now(),
            tool_version=self._policy.tool_version,
            server_version=self._server.version,
            pg_dump_version=self._dumper_info.version,
            archive_format=self._dumper_info.archive_format,
            compression=self._dumper_info.compression,
            key_name=self._recipients.key_name,
            key_fingerprint=self._recipients.fingerprint,
            escrow_fingerprint=self._recipients.escrow_fingerprint,
            globals=self._globals,
            databases=self._records,
        )


BackupMachineFactory = Callable[[ClientContext], BackupClientMachine]
