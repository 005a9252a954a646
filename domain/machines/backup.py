"""Back up every database of one client onto its mounted share (SPEC sections 5.1, 7).

The run is built under `<tier>/<period>/<RUN_ID>.partial/` and renamed to its final name only once
the manifest, SHA256SUMS and RESTORE.txt are written, so nothing that looks complete is ever
incomplete. Databases are dumped in parallel, largest first; one failing database never stops the
others. On any failure the keyring is disposed and the share lock released; an unpublished run
directory is removed. Failure prefix: `<client> <host>` (per database `<client> <host> <db>`).
When runs are signed (`[signing] key_file`), `manifest.json.asc`, a detached signature of
manifest.json, is written into the partial run before it is published (SPEC 14).

Longer than 300 lines: one machine whose nodes are read top to bottom in the order they run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from domain.framework.definition import node
from domain.framework.fanout import fan_out
from domain.framework.machine import Step
from domain.framework.results import Result, failures
from domain.framework.slot import Slot
from domain.machines.backup_database import BackupDatabaseMachine, PreviousDump
from domain.machines.mount import ClientContext, not_started
from domain.machines.pruning import PruneAndUnlockMachine, Pruning
from domain.machines.retention import RetentionOptions, RetentionPorts
from domain.models.compression import globals_compression
from domain.models.manifest import (
    MANIFEST_FILE,
    RESTORE_FILE,
    SIGNATURE_FILE,
    SUMS_FILE,
    DumpRecord,
    DumpStatus,
    Manifest,
)
from domain.models.metrics import JobMeasurements
from domain.models.policy import BackupPolicy
from domain.models.run import RunId, RunPlace
from domain.rules.naming import GLOBALS_FILE, compressed_file
from domain.rules.restore_text import restore_text
from domain.rules.tiering import classify
from domain.services.catalog import RunCatalog
from domain.services.configs import server_target
from domain.services.job_metrics import backup_measurements
from domain.services.share_lock import take_share_lock_step
from domain.services.storing import store_dump
from ports.clock import Clock
from ports.console import Console
from ports.database import Database, DatabaseInfo, ServerInfo
from ports.dumper import Dumper, DumpTool
from ports.encryptor import Encryptor, Recipients
from ports.errors import InvalidManifestError, ShareUnavailableError
from ports.file_share import FileShare
from ports.host_processes import HostProcesses
from ports.signer import Signer, SigningKey
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
    signer: Signer | None = None
    """The operator's signing key ([signing] key_file); None when runs are not signed."""


class BackupClientMachine(PruneAndUnlockMachine):
    """Dump, encrypt and store every database of a client as one run, then publish it."""

    place = Slot[RunPlace]("start_run")
    recipients = Slot[Recipients]("load_key")
    server = Slot[ServerInfo]("inspect_server")
    tool = Slot[DumpTool]("inspect_server")
    signing = Slot[SigningKey]("load_signing_key")
    manifest_bytes = Slot[bytes]("write_manifest")

    def __init__(
        self,
        context: ClientContext,
        *,
        ports: BackupPorts,
        policy: BackupPolicy,
        lock_owner: str,
        retention: RetentionOptions | None = None,
        processes: HostProcesses | None = None,
    ) -> None:
        super().__init__()
        self._config = context.config
        self._share: FileShare = context.share
        self._ports = ports
        self._policy = policy
        self._target = server_target(context.config)
        self._catalog = RunCatalog(context.share)
        self._databases: list[DatabaseInfo] = []
        self._previous: dict[str, PreviousDump] = {}
        self._globals: DumpRecord | None = None
        self._records: list[DumpRecord] = []
        self._published = False
        self.share_lock = context.share_lock(
            ports.clock, lock_owner, policy.share_lock_max_age, processes
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
        return take_share_lock_step(self, self.share_lock, self.start_run)

    @node(happy=("load_key",), unhappy=("release_share_lock",), on_exception="release_share_lock")
    def start_run(self) -> Step:
        """Name the run and create its partial directory in its tier and period."""
        started = self._ports.clock.now()
        period = classify(
            started,
            eoy_month=self._policy.eoy_month,
            timezone=self._policy.timezone,
            offset_months=self._policy.period_offset_months,
        )
        self.place = RunPlace(started, period, self._catalog.free_run_id(period, RunId.at(started)))
        self._share.make_dirs(self.place.partial_dir)
        logger.info("run %s in %s", self.place.run_id, period.folder)
        return self.success(self.load_key)

    @node(happy=("load_signing_key",), unhappy=("discard_run",), on_exception="discard_run")
    def load_key(self) -> Step:
        """Import the client's public key into a throw-away keyring and check its name."""
        self.recipients = self._ports.encryptor.load(
            self._config.public_key, self._config.key_name, self._config.escrow_public_key
        )
        return self.success(self.load_signing_key)

    @node(happy=("inspect_server",), unhappy=("inspect_server",), on_exception="inspect_server")
    def load_signing_key(self) -> Step:
        """Load the operator's signing key, when runs are signed ([signing] key_file).

        A key that cannot be loaded is a Failure, but the backup goes on unsigned: a run
        without a signature is better than no run (SPEC 14).
        """
        if self._ports.signer is not None:
            self.signing = self._ports.signer.load()
            logger.info("runs are signed by %s", self.signing.info.fingerprint)
        return self.success(self.inspect_server)

    @node(happy=("discover_databases",), unhappy=("discard_run",), on_exception="discard_run")
    def inspect_server(self) -> Step:
        """Read the server version and pick a pg_dump that is new enough for it."""
        self.server = self._ports.database.server_info(self._target)
        self.tool = self._ports.dumper.select(self.server)
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
        """Store roles and tablespaces (no role passwords), compressed as the dumps, encrypted."""
        compression = globals_compression(self.tool.info.compression)
        self._globals = store_dump(
            name="globals",
            path=self.place.partial_dir / compressed_file(GLOBALS_FILE, compression),
            source=self.tool.dump_globals(self._target),
            recipients=self.recipients,
            share=self._share,
            clock=self._ports.clock,
            compression=compression,
        )
        if self._globals.status is DumpStatus.FAILED:
            return self.failure(self.dump_databases, f"globals: {self._globals.error}")
        return self.success(self.dump_databases)

    @node(happy=("write_manifest",), unhappy=("discard_run",), on_exception="discard_run")
    def dump_databases(self) -> Step:
        """Back up every database in the worker pool; their results land before this one."""
        children = [self._database_machine(db) for db in self._databases]
        self.add_results(fan_out(self._ports.runner, children))
        self._records = [self._record_of(child) for child in children]
        return self.success(self.write_manifest)

    @node(happy=("sign_manifest",), unhappy=("discard_run",), on_exception="discard_run")
    def write_manifest(self) -> Step:
        """Write manifest.json, SHA256SUMS and RESTORE.txt into the partial run."""
        manifest = self._manifest()
        self.manifest_bytes = manifest.to_json()
        for name, content in (
            (SUMS_FILE, manifest.sha256sums()),
            (RESTORE_FILE, restore_text(manifest)),
            (MANIFEST_FILE, self.manifest_bytes),
        ):
            self._share.write_stream(self.place.partial_dir / name, [content])
        return self.success(self.sign_manifest)

    @node(happy=("publish_run",), unhappy=("publish_run",), on_exception="publish_run")
    def sign_manifest(self) -> Step:
        """Write manifest.json.asc, a detached signature of manifest.json, before publishing.

        A signature that cannot be made is a Failure; the run is published all the same (its
        manifest names the signing key, so verify reports the missing signature).
        """
        signing = BackupClientMachine.signing.get(self)
        if signing is None:
            return self.success(self.publish_run)
        signature = signing.sign([self.manifest_bytes])
        self._share.write_stream(self.place.partial_dir / SIGNATURE_FILE, [signature])
        return self.success(self.publish_run)

    @node(happy=("dispose_key",), unhappy=("discard_run",), on_exception="discard_run")
    def publish_run(self) -> Step:
        """Rename the partial run to its final name: from now on it is a complete backup run."""
        self._share.rename(self.place.partial_dir, self.place.final_dir)
        self._published = True
        logger.info("published %s", self.place.final_dir)
        return self.success(self.dispose_key)

    @node(
        happy=("dispose_key",), unhappy=("dispose_key",), on_exception="dispose_key", cleanup=True
    )
    def discard_run(self) -> Step:
        """Remove the unpublished run directory, so no half-made run stays behind."""
        place = BackupClientMachine.place.get(self)
        if place is not None and self._share.exists(place.partial_dir):
            self._share.delete_tree(place.partial_dir)
        return self.success(self.dispose_key)

    @node(
        happy=("end_of_month_retention",),
        unhappy=("end_of_month_retention",),
        on_exception="end_of_month_retention",
        cleanup=True,
    )
    def dispose_key(self) -> Step:
        """Remove the throw-away keyrings (the public keys, the signing key)."""
        signing = BackupClientMachine.signing.get(self)
        if signing is not None:
            signing.close()
        recipients = BackupClientMachine.recipients.get(self)
        if recipients is not None:
            recipients.close()
        return self.success(self.end_of_month_retention)

    # ------------------------------------------------------------------ helpers

    def measurements(self) -> JobMeasurements:
        """Return each database's size, time and status, the keys' expiry, the run's period."""
        recipients = BackupClientMachine.recipients.get(self)
        place = BackupClientMachine.place.get(self)
        return backup_measurements(
            records=self._records,
            previous_bytes={name: dump.bytes for name, dump in self._previous.items()},
            keys=recipients.info if recipients is not None else None,
            period=place.period if place is not None and self._published else None,
            runs_deleted=self.runs_deleted,
        )

    def summary(self, results: list[Result]) -> str:
        """Return one line: databases ok and failed, where the run went, failures."""
        if self.share_lock.refused:
            return not_started("backup", self._config.client_name, results)
        ok = sum(1 for r in self._records if r.status is DumpStatus.OK)
        place = BackupClientMachine.place.get(self)
        where = f"{place.period.folder}/{place.run_id}" if place else "-"
        state = "published" if self._published else "not published"
        return (
            f"backup {self._config.client_name}: {ok} of {len(self._records)} databases ok, "
            f"run {where} {state}, {len(failures(results))} failures"
        )

    def _database_machine(self, database: DatabaseInfo) -> BackupDatabaseMachine:
        return BackupDatabaseMachine(
            client=self._config.client_name,
            target=self._target,
            database=database,
            run_dir=self.place.partial_dir,
            share=self._share,
            tool=self.tool,
            recipients=self.recipients,
            clock=self._ports.clock,
            policy=self._policy,
            previous=self._previous.get(database.name),
            databases_in_run=len(self._databases),
        )

    def _record_of(self, child: BackupDatabaseMachine) -> DumpRecord:
        record = BackupDatabaseMachine.record.get(child)
        if record is not None:
            return record
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
        place, dumper, keys = self.place, self.tool.info, self.recipients.info
        signing = BackupClientMachine.signing.get(self)
        return Manifest(
            client=self._config.client_name,
            run_id=str(place.run_id),
            tier=place.period.tier,
            period=place.period.label,
            eoy_month=self._policy.eoy_month,
            started=place.started,
            finished=self._ports.clock.now(),
            tool_version=self._policy.tool_version,
            server_version=self.server.version,
            pg_dump_version=dumper.version,
            archive_format=dumper.archive_format,
            compression=dumper.compression,
            key_name=keys.key_name,
            key_fingerprint=keys.fingerprint,
            escrow_fingerprint=keys.escrow_fingerprint,
            globals=self._globals,
            databases=self._records,
            signing_fingerprint=signing.info.fingerprint if signing else None,
        )
