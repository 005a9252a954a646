"""Apply retention to one tier of a client's share (SPEC section 8).

`ApplyRetentionMachine` surveys every run of both tiers (manifests, HOLD files, partial debris),
asks the pure planner (`domain.rules.retention`) what expires, and deletes this tier's expired
runs in parallel, one `DeleteRunMachine` (and one result) per run. A run is first renamed to
`<RUN_ID>.partial`, so a deletion that stops half-way leaves debris, never a run that looks
complete. Every deletion is appended to `retention.log` at the share root (a hash-chained
JSON-lines audit log). A run kept past its
retention because it holds the last good copy of a database is reported as a Failure.
Failure prefix: `<client> <tier>` (per run `<client> <run path>`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePosixPath

from domain.framework.definition import node
from domain.framework.fanout import fan_out
from domain.framework.machine import Machine, Step
from domain.models.hold import HOLD_FILE
from domain.models.manifest import DumpStatus
from domain.models.retention import (
    Deletion,
    RetentionConfigError,
    RetentionPlan,
    RetentionPolicy,
    RunFacts,
    database_statuses,
)
from domain.models.run import PARTIAL_SUFFIX, StoredRun, Tier
from domain.rules.retention import plan_retention
from domain.services.audit_log import AuditLog
from domain.services.catalog import RunCatalog
from ports.clock import Clock
from ports.console import Console
from ports.errors import InvalidManifestError, ShareUnavailableError
from ports.file_share import FileShare
from ports.task_runner import TaskRunner

logger = logging.getLogger("lts.retention")

AUDIT_LOG = PurePosixPath("retention.log")
"""The share's audit log: every deletion, hold and release (SPEC 8, 14, 16)."""


@dataclass(frozen=True, slots=True)
class RetentionOptions:
    """Retention settings of the master config and the command line."""

    minimum_keep: int = 1
    partial_max_age: timedelta = timedelta(hours=24)
    partials_abandoned: bool = False
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class RetentionPorts:
    """The ports retention talks through, besides the share."""

    clock: Clock
    runner: TaskRunner
    console: Console


def survey(share: FileShare) -> list[RunFacts]:
    """Return the facts of every run directory of both tiers, partial debris included."""
    catalog = RunCatalog(share)
    facts = []
    for tier in Tier:
        for run in catalog.runs(tier, include_partial=True):
            facts.append(
                RunFacts(
                    tier=run.tier,
                    period=run.period,
                    run_id=run.run_id,
                    databases=None if run.partial else _statuses(catalog, run),
                    held=share.exists(run.path / HOLD_FILE),
                    partial=run.partial,
                )
            )
    return facts


def _statuses(catalog: RunCatalog, run: StoredRun) -> dict[str, DumpStatus] | None:
    try:
        return database_statuses(catalog.digest(run))
    except InvalidManifestError as exc:
        # An invalid manifest makes the run incomplete; it still expires by its RUN_ID. A share
        # that cannot be read is not caught: retention must stop rather than lose its rails.
        logger.warning("cannot read the manifest of %s: %s", run.path, exc)
        return None


class DeleteRunMachine(Machine):
    """Delete one run directory and record it in the audit log."""

    def __init__(self, *, client: str, deletion: Deletion, share: FileShare, clock: Clock) -> None:
        super().__init__()
        self._client = client
        self._deletion = deletion
        self._share = share
        self._clock = clock
        run = deletion.run
        self._path = PurePosixPath(run.path)
        self._doomed = PurePosixPath(run.tier, run.period, f"{run.run_id}{PARTIAL_SUFFIX}")
        self.deleted = False

    @property
    def deletion(self) -> Deletion:
        """Return the deletion this machine carries out."""
        return self._deletion

    @property
    def prefix(self) -> str:
        """Return `<client> <run path>`."""
        return f"{self._client} {self._path}"

    @node(
        entry=True,
        happy=("delete_run",),
        unhappy=("report_results",),
        on_exception="report_results",
    )
    def retire_run(self) -> Step:
        """Rename a published run to partial debris first: it never looks complete half-deleted."""
        if self._path != self._doomed:
            self._share.rename(self._path, self._doomed)
        return self.success(self.delete_run)

    @node(happy=("record_deletion",), unhappy=("report_results",), on_exception="report_results")
    def delete_run(self) -> Step:
        """Delete the run directory (never following symlinks), then its period if emptied."""
        self._share.delete_tree(self._doomed)
        self.deleted = True
        self._remove_period_if_empty()
        return self.success(self.record_deletion)

    def _remove_period_if_empty(self) -> None:
        # Runs of one period are deleted in parallel: each looks after its own deletion, so the
        # last one to look sees the folder empty; another may have removed it already.
        period = self._doomed.parent
        try:
            if not self._share.list_dir(period):
                self._share.delete_tree(period)
                logger.info("removed the emptied period folder %s", period)
        except ShareUnavailableError as exc:
            if self._share.exists(period):
                logger.warning("cannot remove the emptied period folder %s: %s", period, exc)

    @node(
        happy=("report_results",),
        unhappy=("report_results",),
        on_exception="report_results",
        cleanup=True,
    )
    def record_deletion(self) -> Step:
        """Append the deletion to the chained retention.log: when, what, which rule."""
        entry = {
            "time": self._clock.now().isoformat(),
            "event": "deleted",
            "run": str(self._path),
            "rule": self._deletion.reason,
        }
        AuditLog(self._share, AUDIT_LOG).append(entry)
        logger.info("deleted %s: %s", self._path, self._deletion.reason)
        return self.success(self.report_results)


class ApplyRetentionMachine(Machine):
    """Delete the expired runs of one tier; report runs kept past retention."""

    def __init__(
        self,
        *,
        client: str,
        tier: Tier,
        end_of_month_days: int,
        end_of_year_days: int,
        share: FileShare,
        ports: RetentionPorts,
        options: RetentionOptions,
    ) -> None:
        super().__init__()
        self._client = client
        self._tier = tier
        self._days = (end_of_month_days, end_of_year_days)
        self._share = share
        self._ports = ports
        self._options = options
        self._policy: RetentionPolicy | None = None
        self._plan = RetentionPlan()
        self.deleted: list[Deletion] = []

    @property
    def prefix(self) -> str:
        """Return `<client> <tier>`."""
        return f"{self._client} {self._tier}"

    @property
    def planned(self) -> list[Deletion]:
        """Return this tier's deletions in the plan, oldest first."""
        return [d for d in self._plan.deletions if d.run.tier is self._tier]

    @node(
        entry=True,
        happy=("survey_runs",),
        unhappy=("report_results",),
        on_exception="report_results",
    )
    def check_policy(self) -> Step:
        """Refuse retention days below 1: a configuration error deletes nothing."""
        try:
            self._policy = RetentionPolicy(
                end_of_month_days=self._days[0],
                end_of_year_days=self._days[1],
                minimum_keep=self._options.minimum_keep,
                partial_max_age=self._options.partial_max_age,
                partials_abandoned=self._options.partials_abandoned,
            )
        except RetentionConfigError as exc:
            return self.failure(self.report_results, f"retention not applied: {exc}")
        return self.success(self.survey_runs)

    @node(happy=("delete_runs",), unhappy=("report_results",), on_exception="report_results")
    def survey_runs(self) -> Step:
        """Read every run's manifest and HOLD file, and plan what expires."""
        if self._policy is None:
            raise RuntimeError("check_policy has not run")
        self._plan = plan_retention(survey(self._share), self._policy, self._ports.clock.now())
        return self.success(self.delete_runs)

    @node(
        happy=("report_kept_runs",), unhappy=("report_kept_runs",), on_exception="report_kept_runs"
    )
    def delete_runs(self) -> Step:
        """Delete this tier's expired runs in parallel (or only list them in a dry run)."""
        if self._options.dry_run:
            for deletion in self.planned:
                self._ports.console.print(f"would delete {deletion.run.path}: {deletion.reason}")
            return self.success(self.report_kept_runs)
        children = [
            DeleteRunMachine(
                client=self._client, deletion=d, share=self._share, clock=self._ports.clock
            )
            for d in self.planned
        ]
        self.add_results(fan_out(self._ports.runner, children))
        self.deleted = [child.deletion for child in children if child.deleted]
        return self.success(self.report_kept_runs)

    @node(happy=("report_results",), unhappy=("report_results",), on_exception="report_results")
    def report_kept_runs(self) -> Step:
        """Report runs kept past retention as the last good copy of a database."""
        alerts = [a for a in self._plan.alerts if a.run.tier is self._tier]
        if alerts:
            return self.failure(self.report_results, "; ".join(a.message for a in alerts))
        return self.success(self.report_results)
