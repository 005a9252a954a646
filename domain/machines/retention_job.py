"""The standalone retention job: prune a client's share without taking a backup (SPEC 5, 8).

Runs on the mounted share inside MountShareMachine: takes the share lock (not in a dry run,
which changes nothing), applies retention to both tiers, releases the lock.
Failure prefix: `<client>`.
"""

from __future__ import annotations

from datetime import timedelta

from domain.framework.definition import node
from domain.framework.machine import Step
from domain.framework.results import Result, failures
from domain.machines.mount import ClientContext, not_started
from domain.machines.pruning import PruneAndUnlockMachine, Pruning
from domain.machines.retention import RetentionOptions, RetentionPorts
from domain.models.metrics import JobMeasurements
from domain.services.share_lock import take_share_lock_step
from ports.host_processes import HostProcesses


class RetentionClientMachine(PruneAndUnlockMachine):
    """Apply retention to both tiers of one client's share."""

    def __init__(
        self,
        context: ClientContext,
        *,
        ports: RetentionPorts,
        options: RetentionOptions,
        lock_owner: str,
        share_lock_max_age: timedelta,
        processes: HostProcesses | None = None,
    ) -> None:
        super().__init__()
        self._config = context.config
        self._options = options
        self.pruning = Pruning(
            client=context.config.client_name,
            end_of_month_days=context.config.end_of_month_retention,
            end_of_year_days=context.config.end_of_year_retention,
            share=context.share,
            ports=ports,
            options=options,
        )
        self.share_lock = context.share_lock(ports.clock, lock_owner, share_lock_max_age, processes)

    @property
    def prefix(self) -> str:
        """Return the client name."""
        return self._config.client_name

    @node(
        entry=True,
        happy=("end_of_month_retention",),
        unhappy=("report_results", "end_of_month_retention"),
        on_exception="report_results",
    )
    def take_share_lock(self) -> Step:
        """Write the share's lock marker, unless this is a dry run."""
        return take_share_lock_step(
            self, self.share_lock, self.end_of_month_retention, dry_run=self._options.dry_run
        )

    def measurements(self) -> JobMeasurements:
        """Return how many runs were deleted (none in a dry run)."""
        return JobMeasurements(runs_deleted=0 if self._options.dry_run else self.runs_deleted)

    def summary(self, results: list[Result]) -> str:
        """Return one line: runs deleted (or that would be), failures."""
        name = self._config.client_name
        if self.share_lock.refused:
            return not_started("retention", name, results)
        if self._options.dry_run:
            planned = sum(len(tier.planned) for tier in self.retention_machines)
            return f"retention {name} (dry run): {planned} runs would be deleted"
        failed = len(failures(results))
        return f"retention {name}: {self.runs_deleted} runs deleted, {failed} failures"
