"""The fleet report (SPEC 16): what is read from each share, and the rows the report shows.

`ClientSurvey` is what a read-only visit of one client's share found; `ClientRow` is one client
of the report (built by `domain.rules.report`), and `FleetReport` the whole report, written as
`report.json` (`to_document`) and as a static HTML page by a ReportWriter adapter.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from domain.models.hold import Hold
from domain.models.manifest import DumpStatus
from domain.models.metrics import KeyExpiry
from domain.models.run import StoredRun

REPORT_PERIODS = 24
"""The freshness matrix shows the current period month and the 23 before it."""


@dataclass(frozen=True, slots=True)
class ReportPolicy:
    """How the report places runs in months and judges keys (from the master config)."""

    timezone: str = "UTC"
    period_offset_months: int = 0
    key_warning: timedelta = timedelta(days=90)
    periods: int = REPORT_PERIODS


@dataclass(frozen=True, slots=True)
class SurveyedDump:
    """One database of a run as its manifest tells it."""

    name: str
    status: DumpStatus
    bytes: int
    error: str = ""


@dataclass(frozen=True, slots=True)
class SurveyedRun:
    """A run directory on the share, its manifest (if readable) and its hold."""

    run: StoredRun
    readable: bool
    databases: tuple[SurveyedDump, ...] = ()
    eoy_month: int | None = None
    hold: Hold | None = None

    @property
    def complete(self) -> bool:
        """Tell whether the run is published, readable and every database is ok."""
        return (
            not self.run.partial
            and self.readable
            and all(db.status is DumpStatus.OK for db in self.databases)
        )


@dataclass(frozen=True, slots=True)
class DrillRecord:
    """One line of `drills.jsonl`: which run was drilled, when, and whether it passed."""

    run_id: str
    time: datetime | None
    ok: bool | None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ClientSurvey:
    """What a read-only visit of one client's share found."""

    runs: tuple[SurveyedRun, ...]
    end_of_month_days: int
    end_of_year_days: int
    drills: tuple[DrillRecord, ...] = ()
    retention_alerts: tuple[str, ...] = ()
    retention_problem: str = ""
    keys: tuple[KeyExpiry, ...] = ()
    problems: tuple[str, ...] = ()
    """What could not be read or checked (the public key would not load, say)."""


class CellStatus(StrEnum):
    """The state of one client's month in the freshness matrix."""

    COMPLETE = "complete"
    PARTIAL = "partial"
    MISSING = "missing"
    OPEN = "open"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Cell:
    """One client's month: its state, whether a run of it is held or was drilled."""

    period: str
    status: CellStatus
    held: bool = False
    drilled: str = ""
    """`ok` when a run of the month passed a drill, `failed` when drills only failed."""
    runs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SizePoint:
    """One database's stored size in one run."""

    run_id: str
    time: str
    bytes: int


@dataclass(frozen=True, slots=True)
class SizeSeries:
    """One database's stored size over time (runs with an ok dump only)."""

    database: str
    points: tuple[SizePoint, ...]


@dataclass(frozen=True, slots=True)
class KeyRow:
    """A key of the client: when it stops encrypting, how long that is from now."""

    key: str
    fingerprint: str
    expires: str | None
    days_left: int | None
    expiring: bool


@dataclass(frozen=True, slots=True)
class HoldRow:
    """A run on hold: why, who put it there, since when."""

    run: str
    reason: str
    who: str
    since: str | None
    age_days: int | None


@dataclass(frozen=True, slots=True)
class ClientRow:
    """One client of the report."""

    name: str
    eoy_month: int
    reachable: bool
    error: str = ""
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    cells: tuple[Cell, ...] = ()
    sizes: tuple[SizeSeries, ...] = ()
    failures: tuple[str, ...] = ()
    keys: tuple[KeyRow, ...] = ()
    holds: tuple[HoldRow, ...] = ()
    runs: int = 0
    stored_bytes: int = 0
    last_complete: str = ""


@dataclass(frozen=True, slots=True)
class FleetReport:
    """The whole report: when it was made, the months shown, one row per client."""

    generated: str
    periods: tuple[str, ...]
    clients: tuple[ClientRow, ...] = field(default=())

    @property
    def with_problems(self) -> int:
        """Return how many clients have a problem (unreachable ones included)."""
        return sum(1 for client in self.clients if client.problems)

    def to_document(self) -> dict[str, object]:
        """Return the report as plain JSON data."""
        return {
            "generated": self.generated,
            "periods": list(self.periods),
            "clients_with_problems": self.with_problems,
            "clients": [asdict(client) for client in self.clients],
        }
