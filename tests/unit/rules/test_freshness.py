"""Which months must hold a complete run, and which month a run covers."""

from datetime import UTC, datetime

import pytest

from domain.models.run import Tier
from domain.rules.freshness import (
    FreshnessPolicy,
    Month,
    covered_month,
    required_months,
    retention_problems,
)

POLICY = FreshnessPolicy(eoy_month=6, end_of_month_days=400, end_of_year_days=3650)
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def labels(months):
    return [str(month) for month in months]


def test_the_months_from_the_first_run_to_the_last_passed_month_are_required():
    assert labels(required_months(Month(2026, 8), NOW, POLICY)) == ["2026-08", "2026-09", "2026-10"]


def test_nothing_is_required_in_the_first_runs_own_month():
    assert required_months(Month(2026, 11), NOW, POLICY) == []


def test_a_period_offset_keeps_the_previous_month_open_until_the_next_one_passes():
    policy = FreshnessPolicy(6, 400, 3650, period_offset_months=1)
    # On 28 November the October run (taken in November) may still come.
    assert labels(required_months(Month(2026, 8), NOW, policy)) == ["2026-08", "2026-09"]


def test_a_timezone_ahead_of_utc_moves_the_current_month_earlier():
    new_year = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    policy = FreshnessPolicy(6, 400, 3650, timezone="Pacific/Auckland")
    assert labels(required_months(Month(2026, 11), new_year, policy)) == ["2026-11", "2026-12"]


def test_months_past_their_tiers_retention_are_not_required():
    policy = FreshnessPolicy(eoy_month=6, end_of_month_days=100, end_of_year_days=3650)
    months = labels(required_months(Month(2025, 1), NOW, policy))
    assert months == ["2025-06", "2026-06", "2026-09", "2026-10"]


@pytest.mark.parametrize(
    ("tier", "period", "month"),
    [
        (Tier.END_OF_MONTH, "2026-03", Month(2026, 3)),
        (Tier.END_OF_YEAR, "FY2026", Month(2026, 6)),
        (Tier.END_OF_MONTH, "2026-13", None),
        (Tier.END_OF_MONTH, "junk", None),
        (Tier.END_OF_YEAR, "2026", None),
        (Tier.END_OF_YEAR, "FYxxxx", None),
    ],
)
def test_a_run_covers_the_month_of_its_period(tier, period, month):
    assert covered_month(tier, period, 6) == month


def test_the_folder_of_a_month_follows_the_fiscal_year():
    assert Month(2026, 6).folder(6) == "end-of-year/FY2026"
    assert Month(2026, 7).folder(6) == "end-of-month/2026-07"


@pytest.mark.parametrize(
    ("eom", "eoy", "problems"),
    [
        (400, 3650, []),
        (400, 400, []),
        (0, 3650, ["end-of-month-retention is 0 days; it must be at least 1"]),
        (
            400,
            100,
            [
                "end-of-year-retention (100 days) is shorter than end-of-month-retention "
                "(400 days): year-end runs would go first"
            ],
        ),
    ],
)
def test_retention_days_are_sane_when_positive_and_year_ends_outlive_months(eom, eoy, problems):
    assert retention_problems(eom, eoy) == problems
