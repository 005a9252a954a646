"""The ReportWriter port: where the fleet report goes (SPEC section 16)."""

from __future__ import annotations

from abc import abstractmethod
from typing import Protocol

from domain.models.report import FleetReport


class ReportWriter(Protocol):
    """Write the fleet report: `report.json` and a static page that needs no network.

    Each file is replaced whole (written aside, then renamed), so a reader never sees half a
    report. Raises ReportError when the report cannot be written.
    """

    @abstractmethod
    def write(self, report: FleetReport) -> str:
        """Write the report and return where it went (for the summary line)."""
