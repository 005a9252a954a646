"""The report's pure judgement of one client: months, notes, holds, drills, keys."""

from datetime import UTC, datetime, timedelta

from domain.models.hold import Hold
from domain.models.manifest import DumpStatus
from domain.models.metrics import KeyExpiry
from domain.models.report import (
    CellStatus,
    ClientSurvey,
    DrillRecord,
    ReportPolicy,
    SurveyedDump,
    SurveyedRun,
)
from domain.models.run import RunId, StoredRun, Tier
from domain.rules.report import client_row, report_periods, unreachable_row
from domain.rules.tiering import classify

NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)


def run(year, month, *, ok=True, hold=None, readable=True, eoy=6, partial=False):
    started = datetime(year, month, 28, 22, tzinfo=UTC)
    period = classify(started, eoy_month=eoy, timezone="UTC", offset_months=0)
    status = DumpStatus.OK if ok else DumpStatus.FAILED
    return SurveyedRun(
        StoredRun(RunId.at(started), Tier(period.tier), period.label, partial),
        readable,
        (SurveyedDump("sales", status, 100 if ok else 0, "" if ok else "reset"),),
        eoy if readable else None,
        hold,
    )


def survey(*runs, **extra):
    return ClientSurvey(runs=runs, end_of_month_days=400, end_of_year_days=3650, **extra)


def cells(row):
    return {cell.period: cell for cell in row.cells}


def test_the_matrix_ends_with_the_current_period_month_and_honours_the_offset():
    assert [str(m) for m in report_periods(NOW, ReportPolicy())][-2:] == ["2026-10", "2026-11"]
    shifted = report_periods(NOW, ReportPolicy(period_offset_months=1, periods=3))
    assert [str(m) for m in shifted] == ["2026-08", "2026-09", "2026-10"]


def test_a_year_end_run_covers_its_fiscal_year_s_last_month():
    row = client_row("acme", 6, survey(run(2026, 6), run(2026, 7)), NOW, ReportPolicy())
    assert cells(row)["2026-06"].status is CellStatus.COMPLETE
    assert cells(row)["2026-06"].runs == ("end-of-year/FY2026/20260628T220000Z",)


def test_months_before_the_first_run_expect_nothing_and_later_gaps_are_missing():
    row = client_row("acme", 6, survey(run(2026, 8), run(2026, 10)), NOW, ReportPolicy())
    found = cells(row)
    assert found["2026-07"].status is CellStatus.NONE
    assert found["2026-09"].status is CellStatus.MISSING
    assert found["2026-11"].status is CellStatus.OPEN
    assert row.problems == ("no complete run for 2026-09 (no run)",)


def test_a_client_with_no_run_has_a_note_and_no_problem():
    row = client_row("acme", 6, survey(), NOW, ReportPolicy())
    assert row.problems == ()
    assert row.notes == ("no published run on the share yet",)


def test_an_eoy_month_that_differs_from_the_newest_run_is_a_note():
    row = client_row("acme", 12, survey(run(2026, 10)), NOW, ReportPolicy())
    assert row.notes == ("the fleet file says eoy_month 12, the newest run was taken with 6",)


def test_a_hold_shows_its_reason_who_and_age():
    hold = Hold("case 42", "alice", "ops1", NOW - timedelta(days=12), recorded=True)
    row = client_row("acme", 6, survey(run(2026, 10, hold=hold)), NOW, ReportPolicy())
    (held,) = row.holds
    assert (held.reason, held.who, held.age_days) == ("case 42", "alice@ops1", 12)
    assert cells(row)["2026-10"].held is True


def test_a_passed_drill_marks_its_month_and_a_later_failed_one_is_a_problem():
    drills = (
        DrillRecord("20260928T220000Z", None, True),
        DrillRecord("20261028T220000Z", None, True),
        DrillRecord("20261028T220000Z", None, False, "row counts differ"),
    )
    row = client_row(
        "acme", 6, survey(run(2026, 9), run(2026, 10), drills=drills), NOW, ReportPolicy()
    )
    assert cells(row)["2026-09"].drilled == "ok"
    assert cells(row)["2026-10"].drilled == "failed"
    assert row.problems == ("the last drill of run 20261028T220000Z failed: row counts differ",)


def test_an_unreadable_newest_run_is_a_problem_and_a_failure():
    row = client_row(
        "acme", 6, survey(run(2026, 9), run(2026, 10, readable=False)), NOW, ReportPolicy()
    )
    assert (
        "the newest run end-of-month/2026-10/20261028T220000Z has no readable manifest"
        in row.problems
    )
    assert row.failures == ("end-of-month/2026-10/20261028T220000Z: the manifest cannot be read",)


def test_a_key_that_never_expires_is_fine_and_an_expired_one_is_a_problem():
    keys = (
        KeyExpiry("encryption", "F" * 40, None),
        KeyExpiry("escrow", "E" * 40, NOW - timedelta(days=1)),
    )
    row = client_row("acme", 6, survey(run(2026, 10), keys=keys), NOW, ReportPolicy())
    assert [k.expiring for k in row.keys] == [False, True]
    assert row.problems == ("the escrow key " + "E" * 40 + " expired on 2026-11-14",)


def test_insane_retention_days_are_a_problem_and_require_no_month():
    row = client_row(
        "acme",
        6,
        survey(run(2025, 1), retention_problem="retention is not sane: x"),
        NOW,
        ReportPolicy(),
    )
    assert row.problems == ("retention is not sane: x",)


def test_an_unreachable_row_is_one_problem():
    row = unreachable_row("gone", 6, "unreachable: no vault")
    assert (row.reachable, row.problems) == (False, ("unreachable: no vault",))
