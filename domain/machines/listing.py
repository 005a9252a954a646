"""The list job: show a client's runs with tier, period, databases, sizes and expiry (SPEC 5).

Read-only: it needs no lock. Output goes to the Console, as a table or as one JSON document
(`--json`), with no summary line after the JSON so that the output parses. Each run shows when a
drill last proved it restorable, read from `drills.jsonl` (SPEC 13); a drill log that cannot be
read is logged and shows no drills. Failure prefix: `<client>`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import PurePosixPath

from domain.framework.definition import node
from domain.framework.machine import Machine, Step
from domain.framework.results import Result, failures
from domain.machines.mount import ClientContext
from domain.models.manifest import ManifestDigest
from domain.models.run import StoredRun, Tier
from domain.rules.drills import DRILLS_FILE, RunDrills, drills_by_run
from domain.rules.listing import RunRow, describe_run, render_table
from domain.services.audit_log import AuditLog
from domain.services.catalog import RunCatalog
from domain.services.holds import read_hold
from ports.clock import Clock
from ports.console import Console
from ports.errors import InvalidManifestError, ShareUnavailableError

logger = logging.getLogger("lts.list")


class ListRunsMachine(Machine):
    """List every run of a client's share."""

    def __init__(
        self, context: ClientContext, *, console: Console, clock: Clock, as_json: bool = False
    ) -> None:
        super().__init__()
        self._config = context.config
        self._share = context.share
        self._console = console
        self._clock = clock
        self._as_json = as_json
        self.rows: list[RunRow] = []

    @property
    def prefix(self) -> str:
        """Return the client name."""
        return self._config.client_name

    @node(
        entry=True, happy=("show_runs",), unhappy=("report_results",), on_exception="report_results"
    )
    def survey_runs(self) -> Step:
        """Read every run's manifest and HOLD file (its reason, who and since when)."""
        catalog = RunCatalog(self._share)
        days = {
            Tier.END_OF_MONTH: self._config.end_of_month_retention,
            Tier.END_OF_YEAR: self._config.end_of_year_retention,
        }
        drills = self._drills()
        for tier in Tier:
            for run in catalog.runs(tier, include_partial=True):
                manifest = None if run.partial else self._manifest(catalog, run)
                hold = read_hold(self._share, run.path)
                row = describe_run(run, manifest, hold, days[tier], drills.get(str(run.run_id)))
                self.rows.append(row)
        self.rows.sort(key=lambda row: (row.run_id, row.tier))
        return self.success(self.show_runs)

    @node(happy=("report_results",), unhappy=("report_results",), on_exception="report_results")
    def show_runs(self) -> Step:
        """Print the runs as a table, or as JSON."""
        if self._as_json:
            document = {"client": self._config.client_name, "runs": [asdict(r) for r in self.rows]}
            self._console.print(json.dumps(document, indent=2))
        else:
            self._console.print(render_table(self.rows, self._clock.now()))
        return self.success(self.report_results)

    def summary(self, results: list[Result]) -> str:
        """Return nothing after JSON (it must parse), else one line."""
        if self._as_json:
            return ""
        return (
            f"list {self._config.client_name}: {len(self.rows)} runs, "
            f"{len(failures(results))} failures"
        )

    def _drills(self) -> dict[str, RunDrills]:
        try:
            return drills_by_run(AuditLog(self._share, PurePosixPath(DRILLS_FILE)).lines())
        except (ShareUnavailableError, ValueError) as exc:
            logger.warning("%s cannot be read, no drills are shown: %s", DRILLS_FILE, exc)
            return {}

    @staticmethod
    def _manifest(catalog: RunCatalog, run: StoredRun) -> ManifestDigest | None:
        try:
            return catalog.digest(run)
        except InvalidManifestError:
            return None
