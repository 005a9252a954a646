"""Check that every month since the client's first run has a complete run (SPEC 5, `check`).

A child of the check job: `CheckFreshnessMachine` reads every published run's manifest (which
month it covers, whether it is complete) and runs one `MonthFreshnessMachine` per required month
(see `domain.rules.freshness`). Failure prefix: `<client>` (per month `<client> <YYYY-MM>`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass

from domain.framework.definition import node
from domain.framework.machine import Machine, Step
from domain.models.client_config import ClientConfig
from domain.models.manifest import Manifest
from domain.models.operations import CheckPolicy
from domain.models.run import StoredRun
from domain.rules.freshness import FreshnessPolicy, Month, covered_month, required_months
from domain.services.catalog import RunCatalog
from ports.clock import Clock
from ports.errors import InvalidManifestError
from ports.file_share import FileShare

logger = logging.getLogger("lts.check")


@dataclass(frozen=True, slots=True)
class MonthRun:
    """A published run that covers a month, and whether it is complete."""

    run: StoredRun
    complete: bool


class MonthFreshnessMachine(Machine):
    """Tell whether one required month holds a complete run."""

    def __init__(self, *, client: str, month: Month, folder: str, runs: list[MonthRun]) -> None:
        super().__init__()
        self._client = client
        self.month = month
        self._folder = folder
        self._runs = runs

    @property
    def prefix(self) -> str:
        """Return `<client> <YYYY-MM>`."""
        return f"{self._client} {self.month}"

    @node(
        entry=True,
        happy=("report_results",),
        unhappy=("report_results",),
        on_exception="report_results",
    )
    def find_complete_run(self) -> Step:
        """Look for a complete run of the month in its tier."""
        if any(run.complete for run in self._runs):
            return self.success(self.report_results)
        if self._runs:
            incomplete = ", ".join(str(run.run.path) for run in self._runs)
            return self.failure(
                self.report_results, f"has no complete run (incomplete: {incomplete})"
            )
        return self.failure(self.report_results, f"has no run (expected under {self._folder}/)")


class CheckFreshnessMachine(Machine):
    """Find the months that must hold a complete run and check each of them."""

    def __init__(
        self, *, config: ClientConfig, share: FileShare, clock: Clock, policy: CheckPolicy
    ) -> None:
        super().__init__()
        self._config = config
        self._share = share
        self._clock = clock
        self._policy = policy
        self._runs: dict[Month, list[MonthRun]] = {}
        self._eoy_month = 0
        self.months: list[MonthFreshnessMachine] = []

    @property
    def prefix(self) -> str:
        """Return the client name."""
        return self._config.client_name

    @node(
        entry=True,
        happy=("check_months", "report_results"),
        unhappy=("report_results",),
        on_exception="report_results",
    )
    def survey_runs(self) -> Step:
        """Read every published run's manifest: which month it covers, whether it is complete."""
        catalog = RunCatalog(self._share)
        now = self._clock.now()
        read: list[tuple[StoredRun, Manifest | None]] = []
        for run in catalog.all_runs():
            if run.run_id.started > now:
                continue
            try:
                read.append((run, catalog.manifest(run)))
            except InvalidManifestError as exc:
                logger.warning("%s", exc)
                read.append((run, None))
        manifests = [manifest for _, manifest in read if manifest is not None]
        if not manifests:
            if read:
                return self.failure(
                    self.report_results,
                    f"none of the {len(read)} runs on the share has a readable manifest",
                )
            logger.info("no runs on the share yet: nothing to be fresh")
            return self.success(self.report_results)
        self._eoy_month = max(manifests, key=lambda manifest: manifest.run_id).eoy_month
        runs: dict[Month, list[MonthRun]] = defaultdict(list)
        for run, manifest in read:
            # A run's own manifest says which month ended its fiscal year when it was taken.
            eoy_month = manifest.eoy_month if manifest is not None else self._eoy_month
            month = covered_month(run.tier, run.period, eoy_month)
            if month is not None:
                runs[month].append(MonthRun(run, manifest is not None and manifest.complete))
        self._runs = dict(runs)
        if not self._runs:
            return self.success(self.report_results)
        return self.success(self.check_months)

    @node(happy=("report_results",), unhappy=("report_results",), on_exception="report_results")
    def check_months(self) -> Step:
        """Check every required month for a complete run; one result per month."""
        config = self._config
        policy = FreshnessPolicy(
            eoy_month=self._eoy_month,
            end_of_month_days=config.end_of_month_retention,
            end_of_year_days=config.end_of_year_retention,
            timezone=self._policy.timezone,
            period_offset_months=self._policy.period_offset_months,
        )
        months = required_months(min(self._runs), self._clock.now(), policy)
        self.months = [
            MonthFreshnessMachine(
                client=config.client_name,
                month=month,
                folder=month.folder(self._eoy_month),
                runs=self._runs.get(month, []),
            )
            for month in months
        ]
        for child in self.months:
            self.add_results(child.execute())
        return self.success(self.report_results)
