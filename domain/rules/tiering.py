"""Which tier and period a run belongs to (SPEC section 7)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from domain.models.run import Period, Tier


def period_month(moment: datetime, timezone: str, offset_months: int) -> tuple[int, int]:
    """Return (year, month) of `moment` in `timezone`, moved back by `offset_months`."""
    local = moment.astimezone(ZoneInfo(timezone))
    index = local.year * 12 + (local.month - 1) - offset_months
    return index // 12, index % 12 + 1


def classify(moment: datetime, *, eoy_month: int, timezone: str, offset_months: int) -> Period:
    """Return the tier and period of a run started at `moment`.

    The period month is the run's month in `timezone` minus `offset_months`; when it is the
    fiscal year's last month (`eoy_month`) the run is end-of-year for `FY<year>`, otherwise
    end-of-month for `YYYY-MM`.
    """
    if not 1 <= eoy_month <= 12:
        raise ValueError(f"EOY_MONTH must be 1..12, not {eoy_month}")
    year, month = period_month(moment, timezone, offset_months)
    if month == eoy_month:
        return Period(Tier.END_OF_YEAR, f"FY{year:04d}", year, month)
    return Period(Tier.END_OF_MONTH, f"{year:04d}-{month:02d}", year, month)
