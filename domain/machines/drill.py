"""Drill a run: prove that its databases restore, with the rows they held (SPEC 5, 13).

`DrillRunMachine` loads the private key, chooses the run (`--run RUN_ID|latest`) and its
databases (`--database`, or every one with an ok dump), asks the target server for its version
and the pg_restore chosen for it, drops the scratch databases that ended (killed) drills left
there (domain/services/scratch_databases.py), then drills each database in turn
(DrillDatabaseMachine: a fresh scratch database claimed by this job, pg_restore, row counts
compared with the manifest, the scratch database always dropped) and appends one
JSON line per drilled database to `drills.jsonl` at the share root, through the hash-chained
AuditLog, right after that drill, so a stopped job keeps what it proved; a stopped job starts
no further drill. Every mismatch or error is one Failure. No lock is taken: the tiers are only
read, and the drills of one job are appended one at a time (run one drill per client at a
time: two jobs appending at once could fork the log's chain, which `verify --logs` reports).
Failure prefix: `<client>` (per database `<client> <database>`).
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import PurePosixPath

from domain.framework.definition import node
from domain.framework.machine import Step, describe
from domain.framework.results import Failure, Result, failures
from domain.framework.slot import Slot
from domain.framework.stop import STOP
from domain.machines.decrypting import DecryptingMachine
from domain.machines.drill_database import DrillDatabaseMachine
from domain.machines.mount import ClientContext
from domain.machines.restore_ports import RestorePorts, operator_server
from domain.models.manifest import DumpRecord, DumpStatus, Manifest
from domain.models.redaction import Redactor
from domain.models.restore_request import DrillRequest
from domain.models.run import StoredRun
from domain.rules.drills import DRILLS_FILE, DrillEntry, DrillResult
from domain.services.audit_log import AuditLog
from domain.services.run_choice import find_runs
from domain.services.scratch_databases import abandoned
from ports.config_source import ConfigSource
from ports.database import ServerTarget
from ports.errors import LtsError
from ports.restorer import RestoreTarget, RestoreVersions

logger = logging.getLogger("lts.drill")

SCRATCH_PREFIX = "lts_drill_"
"""Scratch databases are named `lts_drill_<job start>_<n>`: a leftover is easy to spot."""


class DrillRunMachine(DecryptingMachine):
    """Restore each chosen database of a run into a scratch database and compare the rows."""

    started = Slot[datetime]("load_private_key")
    run = Slot[StoredRun]("find_run")
    manifest = Slot[Manifest]("find_run")
    records = Slot[list[DumpRecord]]("find_run")
    versions = Slot[RestoreVersions]("inspect_target")

    def __init__(
        self,
        context: ClientContext,
        *,
        ports: RestorePorts,
        restore_source: ConfigSource,
        request: DrillRequest,
        redactor: Redactor,
        tool_version: str,
    ) -> None:
        super().__init__(context, ports=ports, restore_source=restore_source, redactor=redactor)
        self._request = request
        self._tool_version = tool_version
        self._server: ServerTarget = operator_server(
            context.config, request.target_host, request.target_port, request.target_user
        )
        self._log = AuditLog(context.share, PurePosixPath(DRILLS_FILE))
        self.drills: list[DrillDatabaseMachine] = []

    @property
    def prefix(self) -> str:
        """Return the client name."""
        return self._config.client_name

    @node(
        entry=True,
        happy=("find_run", "report_results"),
        unhappy=("report_results",),
        on_exception="report_results",
    )
    def load_private_key(self) -> Step:
        """Read the restore config and load its private key (a child machine)."""
        self.started = self._ports.clock.now()
        return self._load_keys(self.find_run)

    @node(
        happy=("inspect_target",),
        unhappy=("inspect_target", "dispose_key"),
        on_exception="dispose_key",
    )
    def find_run(self) -> Step:
        """Choose the run and the databases to drill: those asked for, else every ok dump."""
        self.run = find_runs(self._catalog, self._request.run)[-1]
        self.manifest = self._catalog.manifest(self.run)
        by_name = {record.name: record for record in self.manifest.databases}
        asked = self._request.databases or tuple(by_name)
        usable = [by_name[n] for n in asked if n in by_name and by_name[n].status is DumpStatus.OK]
        unusable = [name for name in asked if name not in {r.name for r in usable}]
        self.records = usable
        if self._request.databases and unusable:
            described = ", ".join(
                f"{name} ({'failed at backup' if name in by_name else 'not in the run'})"
                for name in unusable
            )
            target = self.inspect_target if usable else self.dispose_key
            return self.failure(target, f"run {self.run.run_id} cannot drill {described}")
        if unusable:
            logger.info("not drilled (failed at backup): %s", ", ".join(unusable))
        if not usable:
            return self.failure(
                self.dispose_key, f"run {self.run.run_id} holds no ok dump to drill"
            )
        return self.success(self.inspect_target)

    @node(happy=("drop_abandoned_scratch",), unhappy=("dispose_key",), on_exception="dispose_key")
    def inspect_target(self) -> Step:
        """Ask the target server its version and choose pg_restore for it."""
        self.versions = self._ports.restorer.versions(self._server)
        logger.info(
            "drilling run %s on %s:%s (server %s, pg_restore %s)",
            self.run.run_id,
            self._server.host,
            self._server.port,
            self.versions.server,
            self.versions.pg_restore,
        )
        return self.success(self.drop_abandoned_scratch)

    @node(happy=("drill_databases",), unhappy=("drill_databases",), on_exception="drill_databases")
    def drop_abandoned_scratch(self) -> Step:
        """Drop the scratch databases that drills no longer running left on the target."""
        restorer = self._ports.restorer
        kept: list[str] = []
        for scratch in abandoned(restorer.scratch_databases(self._server, SCRATCH_PREFIX)):
            try:
                restorer.drop_database(RestoreTarget(self._server, scratch.name))
            except LtsError as exc:
                kept.append(f"{scratch.name} ({exc})")
                continue
            logger.warning(
                "dropped the scratch database %s that a drill no longer running left",
                scratch.name,
            )
        if kept:
            return self.failure(
                self.drill_databases,
                "cannot drop the scratch databases that ended drills left: "
                f"{'; '.join(kept)}; drop them by hand",
            )
        return self.success(self.drill_databases)

    @node(happy=("dispose_key",), unhappy=("dispose_key",), on_exception="dispose_key")
    def drill_databases(self) -> Step:
        """Drill each database in turn, and record each drill in drills.jsonl at once."""
        stamp = self.started.strftime("%Y%m%d%H%M%S")
        unrecorded: list[str] = []
        for index, record in enumerate(self.records, 1):
            if STOP.reason is not None:
                # A stopped job starts no new drill: a database never tried is not recorded as
                # a failed drill (the one under way when the stop came is, as it did not pass).
                break
            target = RestoreTarget(self._server, f"{SCRATCH_PREFIX}{stamp}_{index}")
            drill = DrillDatabaseMachine(
                client=self._config.client_name,
                run=self.run,
                record=record,
                target=target,
                share=self._share,
                keys=self.keys,
                ports=self._ports,
            )
            self.drills.append(drill)
            results = _executed(drill)
            self.add_results(results)
            try:
                self._log.append(self._entry(drill, results).to_log())
            except LtsError as exc:
                unrecorded.append(f"{record.name}: {exc}")
        if unrecorded:
            return self.failure(
                self.dispose_key, f"drills not recorded in {DRILLS_FILE}: {'; '.join(unrecorded)}"
            )
        return self.success(self.dispose_key)

    def summary(self, results: list[Result]) -> str:
        """Return one line: run, target, databases drilled, tables compared, mismatches."""
        failed = len(failures(results))
        run = DrillRunMachine.run.get(self)
        where = f"{self._server.host}:{self._server.port}"
        if run is None or not self.drills:
            return (
                f"drill {self._config.client_name}: nothing drilled on {where}, {failed} failures"
            )
        passed = sum(1 for drill in self.drills if drill.passed)
        compared = sum(drill.compared for drill in self.drills)
        mismatches = sum(drill.mismatches for drill in self.drills)
        return (
            f"drill {self._config.client_name}: run {run.run_id} ({run.tier}/{run.period}) on "
            f"{where}: {passed} of {len(self.drills)} databases restored and matched, {compared} "
            f"tables compared, {mismatches} mismatches, {failed} failures"
        )

    def _entry(self, drill: DrillDatabaseMachine, results: list[Result]) -> DrillEntry:
        problems = [failure.message for failure in failures(results)]
        drill.passed = not problems and drill.cleaned
        versions = self.versions
        return DrillEntry(
            drill=self.started,
            client=self._config.client_name,
            run=str(self.run.run_id),
            tier=str(self.run.tier),
            period=self.run.period,
            database=drill.database,
            result=DrillResult.OK if drill.passed else DrillResult.FAILED,
            tables_compared=drill.compared,
            mismatches=drill.mismatches,
            counts_recorded=drill.record.tables is not None,
            started=drill.started,
            finished=self._ports.clock.now(),
            target=f"{self._server.host}:{self._server.port}",
            scratch_database=drill.target.database,
            versions={
                "pg_restore": versions.pg_restore,
                "server": versions.server,
                "pg_dump": self.manifest.pg_dump_version,
                "lts": self._tool_version,
            },
            problems=problems,
        )


def _executed(drill: DrillDatabaseMachine) -> list[Result]:
    """Run one drill; a drill that breaks is one Failure and never stops the others."""
    try:
        return drill.execute()
    except Exception as exc:
        logger.exception("the drill of %s broke", drill.database)
        return [Failure(drill.entry, f"{drill.prefix} unrecognized exception: {describe(exc)}")]
