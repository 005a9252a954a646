"""The drill log read back: each run's last drill and last proof (domain.rules.drills)."""

import json
from datetime import UTC, datetime

from domain.rules.audit_chain import next_entries
from domain.rules.drills import DrillEntry, DrillResult, RunDrills, drills_by_run
from domain.rules.listing import RunRow

T1 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
T2 = datetime(2026, 12, 8, 8, 0, tzinfo=UTC)


def entry(run, database, result, at):
    return DrillEntry(
        drill=at,
        client="acme",
        run=run,
        tier="end-of-month",
        period="2026-11",
        database=database,
        result=result,
        tables_compared=3,
        mismatches=0 if result is DrillResult.OK else 1,
        counts_recorded=True,
        started=at,
        finished=at,
        target="db:5432",
        scratch_database="lts_drill_1",
    ).to_log()


def log(*entries):
    lines: list[str] = []
    for value in entries:
        lines += next_entries(lines, value)
    return lines


def test_a_drill_where_every_database_passed_proves_its_run():
    lines = log(entry("R1", "sales", DrillResult.OK, T1), entry("R1", "hr", DrillResult.OK, T1))
    assert drills_by_run(lines) == {"R1": RunDrills(T1, DrillResult.OK, T1)}


def test_one_failed_database_fails_the_drill_and_an_earlier_proof_stays():
    lines = log(
        entry("R1", "sales", DrillResult.OK, T1),
        entry("R1", "sales", DrillResult.OK, T2),
        entry("R1", "hr", DrillResult.FAILED, T2),
    )
    assert drills_by_run(lines) == {"R1": RunDrills(T2, DrillResult.FAILED, T1)}


def test_runs_are_kept_apart_and_lines_that_are_not_drills_are_skipped():
    lines = [
        "an old-format line",
        *log(entry("R1", "sales", DrillResult.FAILED, T1), entry("R2", "hr", DrillResult.OK, T2)),
        json.dumps({"run": "R3"}),
        "{not json",
    ]
    assert drills_by_run(lines) == {
        "R1": RunDrills(T1, DrillResult.FAILED, None),
        "R2": RunDrills(T2, DrillResult.OK, T2),
    }


def test_the_listing_cell_shows_the_last_proof_and_a_later_failure():
    row = RunRow(
        "end-of-month", "2026-11", "R1", "complete", 2, 0, 10, False, "2027-12-01",
        last_drill=T2.isoformat(), last_drill_result="failed", last_proven=T1.isoformat(),
    )  # fmt: skip
    assert row.proven == "2026-12-01 (drill of 2026-12-08 failed)"
    never = RunRow("end-of-month", "2026-11", "R1", "complete", 2, 0, 10, False, "2027-12-01")
    assert never.proven == "-"


def test_an_entry_records_its_duration_and_versions():
    value = DrillEntry(
        drill=T1, client="acme", run="R1", tier="end-of-month", period="2026-11",
        database="sales", result=DrillResult.OK, tables_compared=2, mismatches=0,
        counts_recorded=True, started=T1, finished=T2, target="db:5432",
        scratch_database="lts_drill_1", versions={"pg_restore": "15.18"},
    ).to_log()  # fmt: skip
    assert value["duration_seconds"] == 7 * 24 * 3600
    assert value["pg_restore_version"] == "15.18"
