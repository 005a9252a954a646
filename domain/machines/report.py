"""The report job: one read-only report over a fleet of clients (SPEC section 16).

`ReportFleetMachine` visits every client of the fleet file in a small worker pool, each in a
`ReportClientMachine`: the client's own config source, the one share lifecycle
(`MountShareMachine`, without a lock) around `SurveyClientMachine`, then the pure rules of
`domain.rules.report` judge what was found. A client whose config or share cannot be reached
becomes a row that says why; it never stops the report. Each client with a problem is exactly
one Failure (so the exit code is the number of such clients); the report itself is written by
the ReportWriter once every client was visited. Failure prefix: `<client>` (`report` for the
writing).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Protocol

from domain.framework.definition import node
from domain.framework.fanout import fan_out
from domain.framework.machine import Machine, Step
from domain.framework.results import Result, failures
from domain.framework.slot import Slot
from domain.machines.mount import ClientContext, MountShareMachine
from domain.machines.survey import SurveyClientMachine
from domain.models.fleet import FleetClient
from domain.models.report import ClientRow, FleetReport, ReportPolicy
from domain.rules.report import client_row, report_periods, unreachable_row
from ports.clock import Clock
from ports.config_opener import ConfigOpener
from ports.config_source import ConfigSource
from ports.report_writer import ReportWriter
from ports.task_runner import TaskRunner

logger = logging.getLogger("lts.report")


class ClientMounter(Protocol):
    """Builds a client's share lifecycle (the container's read-only MountShareMachine)."""

    def __call__(
        self,
        inner: Callable[[ClientContext], Machine],
        *,
        client: str,
        source: ConfigSource,
    ) -> MountShareMachine:
        """Return the mounting machine of `client` around `inner`."""


SurveyFactory = Callable[[ClientContext], SurveyClientMachine]


class ReportClientMachine(Machine):
    """Survey one client's share read-only and judge it: one row, at most one Failure."""

    found = Slot[SurveyClientMachine]("survey_client")

    def __init__(
        self,
        client: FleetClient,
        *,
        sources: ConfigOpener,
        mount: ClientMounter,
        survey: SurveyFactory,
        clock: Clock,
        policy: ReportPolicy,
    ) -> None:
        super().__init__()
        self.client = client
        self._sources = sources
        self._mount = mount
        self._survey = survey
        self._clock = clock
        self._policy = policy
        self._problems: list[str] = []
        self.row: ClientRow | None = None
        self.results: list[Result] = []

    @property
    def prefix(self) -> str:
        """Return the client name."""
        return self.client.name

    @node(
        entry=True,
        happy=("judge_client",),
        unhappy=("report_results",),
        on_exception="report_results",
    )
    def survey_client(self) -> Step:
        """Read the client's config, mount its share read-only and survey it."""
        name = self.client.name
        mount = self._mount(self._visit, client=name, source=self._sources.open(self.client.store))
        try:
            results = mount.execute()
        finally:
            mount.release_all()
        prefix = f"{name} "
        self._problems = [f.message.removeprefix(prefix) for f in failures(results)]
        found = ReportClientMachine.found.get(self)
        if found is None or not found.surveyed:
            reason = "; ".join(self._problems) or "the share was not surveyed"
            self.row = unreachable_row(name, self.client.eoy_month, f"unreachable: {reason}")
            return self.failure(self.report_results, self.row.error)
        return self.success(self.judge_client)

    @node(happy=("report_results",), unhappy=("report_results",), on_exception="report_results")
    def judge_client(self) -> Step:
        """Build the client's row; fail once when it has any problem."""
        survey = replace(self.found.survey, problems=tuple(self._problems))
        self.row = client_row(
            self.client.name, self.client.eoy_month, survey, self._clock.now(), self._policy
        )
        if self.row.problems:
            return self.failure(self.report_results, "; ".join(self.row.problems))
        return self.success(self.report_results)

    def _visit(self, context: ClientContext) -> Machine:
        self.found = self._survey(context)
        return self.found

    def execute(self) -> list[Result]:
        """Run, and keep the results for `final_row`."""
        self.results = super().execute()
        return self.results

    def final_row(self) -> ClientRow:
        """Return the row, or an unreachable row when the machine broke before making one."""
        if self.row is not None:
            return self.row
        message = next((f.message for f in failures(self.results)), "the survey broke")
        error = message.removeprefix(f"{self.client.name} ")
        return unreachable_row(self.client.name, self.client.eoy_month, f"unreachable: {error}")


class ReportFleetMachine(Machine):
    """Visit every client of the fleet, then write the report."""

    def __init__(
        self,
        *,
        clients: Sequence[ReportClientMachine],
        writer: ReportWriter,
        runner: TaskRunner,
        clock: Clock,
        policy: ReportPolicy,
    ) -> None:
        super().__init__()
        self._clients = list(clients)
        self._writer = writer
        self._runner = runner
        self._clock = clock
        self._policy = policy
        self.rows: list[ClientRow] = []
        self.written = ""

    @node(
        entry=True, happy=("write_report",), unhappy=("write_report",), on_exception="write_report"
    )
    def survey_clients(self) -> Step:
        """Visit every client (a small pool); each client's problems are one Failure."""
        self.add_results(fan_out(self._runner, self._clients))
        self.rows = [client.final_row() for client in self._clients]
        return self.success(self.write_report)

    @node(happy=("report_results",), unhappy=("report_results",), on_exception="report_results")
    def write_report(self) -> Step:
        """Write report.json and the static page."""
        now = self._clock.now()
        report = FleetReport(
            generated=now.isoformat(),
            periods=tuple(str(month) for month in report_periods(now, self._policy)),
            clients=tuple(self.rows),
        )
        self.written = self._writer.write(report)
        return self.success(self.report_results)

    @property
    def prefix(self) -> str:
        """Return `report`."""
        return "report"

    def summary(self, results: list[Result]) -> str:
        """Return one line: clients, how many have a problem, where the report went."""
        problems = sum(1 for row in self.rows if row.problems)
        where = f"written to {self.written}" if self.written else "not written"
        failed = len(failures(results))
        clients = f"{len(self.rows)} clients, {problems} with problems"
        return f"report: {clients}, {where}, {failed} failures"
