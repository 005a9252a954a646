"""InMemoryReportWriter: keeps the last fleet report written."""

from __future__ import annotations

from domain.models.report import FleetReport
from ports.report_writer import ReportWriter


class InMemoryReportWriter(ReportWriter):
    """Keeps `reports`, every report written; `error` makes writing fail."""

    def __init__(self, *, error: Exception | None = None) -> None:
        self.reports: list[FleetReport] = []
        self.error = error

    def write(self, report: FleetReport) -> str:
        """Keep the report, or raise `error`."""
        if self.error is not None:
            raise self.error
        self.reports.append(report)
        return "memory"
