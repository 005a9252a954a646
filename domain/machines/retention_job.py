"""The standalone retention job: prune a client's share without taking a backup (SPEC 5, 8).

Runs on the mounted share inside MountShareMachine: takes the share lock (not in a dry run,
which changes nothing), applies retention to both tiers, releases the lock.
Failure prefix: `<client>`.
"""

from __future__ import annotations

from datetime import timedelta

from domain.framework.definition import node
from domain.framework.machine import Machine, Step
from domain.framework.results import Result, failures
from domain.machines.mount import ClientContext
from domain.machines.retention import ApplyRetentionMachine, RetentionOptions, RetentionPorts
from domain.machines.share_lock import ShareLock
from domain.models.run import Tier
from ports.errors import LockHeldError


class RetentionClientMachine(Machine):
    """Apply retention to both tiers of one client's share."""

    def __init__(
        self,
        context: ClientContext,
        *,
        ports: RetentionPorts,
        options: RetentionOptions,
        lock_owner: str,
        share_lock_max_age: timedelta,
    ) -> None:
        super().__init__()
        self._config = context.config
        self._share = context.share
        self._ports = ports
        self._options = options
        self._share_lock = ShareLock(
            share=context.share,
            clock=ports.clock,
            client=context.config.client_name,
            owner=lock_owner,
            max_age=share_lock_max_age,
        )
        self._tiers: list[ApplyRetentionMachine] = []

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
        if self._options.dry_run:
            return self.success(self.end_of_month_retention)
        try:
            took_over = self._share_lock.take()
        except LockHeldError as exc:
            return self.failure(self.report_results, str(exc))
        if took_over:
            return self.failure(self.end_of_month_retention, took_over)
        return self.success(self.end_of_month_retention)

    @node(
        happy=("end_of_year_retention",),
        unhappy=("end_of_year_retention",),
        on_exception="end_of_year_retention",
    )
    def end_of_month_retention(self) -> Step:
        """Prune expired end-of-month runs."""
        self.add_results(self._tier(Tier.END_OF_MONTH).execute())
        return self.success(self.end_of_year_retention)

    @node(
        happy=("release_share_lock",),
        unhappy=("release_share_lock",),
        on_exception="release_share_lock",
    )
    def end_of_year_retention(self) -> Step:
        """Prune expired end-of-year runs."""
        self.add_results(self._tier(Tier.END_OF_YEAR).execute())
        return self.success(self.release_share_lock)

    @node(happy=("report_results",), unhappy=("report_results",), on_exception="report_results")
    def release_share_lock(self) -> Step:
        """Remove the share's lock marker written by this run."""
        self._share_lock.release()
        return self.success(self.report_results)

    def summary(self, results: list[Result]) -> str:
        """Return one line: runs deleted (or that would be), failures."""
        name = self._config.client_name
        if self._options.dry_run:
            planned = sum(len(tier.planned) for tier in self._tiers)
            return f"retention {name} (dry run): {planned} runs would be deleted"
        deleted = sum(len(tier.deleted) for tier in self._tiers)
        return f"retention {name}: {deleted} runs deleted, {len(failures(results))} failures"

    def _tier(self, tier: Tier) -> ApplyRetentionMachine:
        machine = ApplyRetentionMachine(
            client=self._config.client_name,
            tier=tier,
            end_of_month_days=self._config.end_of_month_retention,
            end_of_year_days=self._config.end_of_year_retention,
            share=self._share,
            ports=self._ports,
            options=self._options,
        )
        self._tiers.append(machine)
        return machine
