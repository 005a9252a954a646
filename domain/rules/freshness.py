"""Which months must hold a complete run, and which runs cover which month (SPEC section 5).

Freshness: every month since the client's first run has a complete run in its tier. A month is
*required* when

- it is not before the month of the oldest run still on the share (the client's first run, as
  far as the share remembers it),
- its period has passed: it is before the current period month (the run's month in `timezone`
  minus `period_offset_months`, as tiering computes it), so the month in progress is never
  required, and
- every run it could have had would still be inside its tier's retention: the earliest moment
  such a run can start (the first instant of the period month plus the offset) is younger than
  the retention days; older months were pruned on purpose and are not missing.

A run covers the month of its period: `end-of-month/YYYY-MM` that month, `end-of-year/FYYYYY`
the fiscal year's last month (the manifest's `eoy_month`) of that year. Pure functions only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from domain.models.run import Tier
from domain.rules.tiering import period_month


@dataclass(frozen=True, slots=True, order=True)
class Month:
    """A calendar month."""

    year: int
    month: int

    @classmethod
    def of_index(cls, index: int) -> Month:
        """Return the month `index` months after January of year 0."""
        return cls(index // 12, index % 12 + 1)

    @property
    def index(self) -> int:
        """Return the number of months since January of year 0."""
        return self.year * 12 + self.month - 1

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def folder(self, eoy_month: int) -> str:
        """Return the folder a run of this month goes to (SPEC section 7)."""
        if self.month == eoy_month:
            return f"{Tier.END_OF_YEAR}/FY{self.year:04d}"
        return f"{Tier.END_OF_MONTH}/{self}"


@dataclass(frozen=True, slots=True)
class FreshnessPolicy:
    """How runs are placed in time, and how long each tier keeps them."""

    eoy_month: int
    end_of_month_days: int
    end_of_year_days: int
    timezone: str = "UTC"
    period_offset_months: int = 0


def covered_month(tier: Tier, period: str, eoy_month: int) -> Month | None:
    """Return the month a run in `tier`/`period` covers, or None for a malformed period."""
    try:
        if tier is Tier.END_OF_YEAR:
            if not period.startswith("FY") or len(period) != len("FY2026"):
                return None
            return Month(int(period[2:]), eoy_month)
        year, month = period.split("-")
        if len(year) != len("2026") or len(month) != len("11") or not 1 <= int(month) <= 12:
            return None
        return Month(int(year), int(month))
    except ValueError:
        return None


def required_months(first: Month, now: datetime, policy: FreshnessPolicy) -> list[Month]:
    """Return the months from `first` on that must each hold a complete run, oldest first."""
    current = Month(*period_month(now, policy.timezone, policy.period_offset_months))
    zone = ZoneInfo(policy.timezone)
    months = []
    for index in range(first.index, current.index):
        month = Month.of_index(index)
        days = (
            policy.end_of_year_days if month.month == policy.eoy_month else policy.end_of_month_days
        )
        runs_from = Month.of_index(index + policy.period_offset_months)
        earliest = datetime(runs_from.year, runs_from.month, 1, tzinfo=zone)
        if earliest + timedelta(days=days) > now:
            months.append(month)
    return months


def retention_problems(end_of_month_days: int, end_of_year_days: int) -> list[str]:
    """Return why the retention days are not sane (SPEC section 8), or nothing."""
    problems = [
        f"{key} is {days} days; it must be at least 1"
        for key, days in (
            ("end-of-month-retention", end_of_month_days),
            ("end-of-year-retention", end_of_year_days),
        )
        if days < 1
    ]
    if not problems and end_of_year_days < end_of_month_days:
        problems.append(
            f"end-of-year-retention ({end_of_year_days} days) is shorter than "
            f"end-of-month-retention ({end_of_month_days} days): year-end runs would go first"
        )
    return problems
