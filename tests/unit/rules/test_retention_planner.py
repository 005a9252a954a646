"""plan_retention by example: one readable case per rule and per edge (SPEC section 8)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from domain.models.manifest import DumpRecord, DumpStatus, Manifest
from domain.models.retention import (
    DeletionRule,
    KeepRail,
    RetentionConfigError,
    RetentionPlan,
    RetentionPolicy,
    RunFacts,
    database_statuses,
)
from domain.models.run import RunId, Tier
from domain.rules.retention import plan_retention

NOW = datetime(2026, 6, 15, 12, 0, 0, tzinfo=UTC)
EOM, EOY = Tier.END_OF_MONTH, Tier.END_OF_YEAR


def run(
    when: str,
    dbs: str = "a=ok",
    *,
    tier: Tier = EOM,
    held: bool = False,
    partial: bool = False,
) -> RunFacts:
    """Build a run from `YYYY-MM-DD` (midnight UTC) or a full RUN_ID, and `name=status ...`.

    `dbs=None`-like input is spelled "?" for an unreadable manifest, "" for no databases.
    """
    run_id = RunId.parse(when) if "T" in when else RunId.parse(when.replace("-", "") + "T000000Z")
    started = run_id.started
    period = f"FY{started.year}" if tier is EOY else f"{started.year:04d}-{started.month:02d}"
    databases = (
        None
        if dbs == "?"
        else {
            name: DumpStatus(status) for name, status in (pair.split("=") for pair in dbs.split())
        }
    )
    return RunFacts(tier, period, run_id, databases, held=held, partial=partial)


def outcome(plan: RetentionPlan) -> dict[str, str]:
    """Summarize a plan as {run path: "delete: rule" or "keep: rail + rail"}."""
    result = {d.run.path: f"delete: {d.rule}" for d in plan.deletions}
    for k in plan.kept:
        assert k.run.path not in result
        result[k.run.path] = "keep: " + " + ".join(k.rails)
    return result


@dataclass
class Case:
    name: str
    runs: list[RunFacts]
    expected: dict[str, str]
    alerts: set[str] = field(default_factory=set)
    policy: RetentionPolicy = field(default_factory=lambda: RetentionPolicy(400, 3650))


FRESH = run("2026-05-31", "a=ok b=ok")  # young and complete: keeps minimum_keep satisfied
FRESH_EOY = run("2025-12-31", "a=ok b=ok", tier=EOY)
FRESH_INCOMPLETE = run("2026-05-31", "a=ok b=failed")  # young, but frees no minimum_keep slot
OLD = "end-of-month/2024-01/20240101T000000Z"
OLDER = "end-of-month/2023-01/20230101T000000Z"
NO_KEEP = RetentionPolicy(400, 3650, minimum_keep=0)

CASES = [
    Case("a run younger than its retention is left alone", [run("2025-06-01"), FRESH], {}),
    Case(
        "an expired run is deleted when a newer complete run exists",
        [run("2024-01-01"), FRESH],
        {OLD: "delete: expired"},
    ),
    Case(
        "a run exactly at the retention boundary has not expired yet",
        [run((NOW - timedelta(days=400)).strftime("%Y%m%dT%H%M%SZ")), FRESH],
        {},
    ),
    Case(
        "a run one second past the retention boundary has expired",
        [run((NOW - timedelta(days=400, seconds=1)).strftime("%Y%m%dT%H%M%SZ")), FRESH],
        {"end-of-month/2025-05/20250511T115959Z": "delete: expired"},
    ),
    Case(
        "each tier expires by its own retention",
        [run("2024-01-01"), run("2023-12-31", tier=EOY), FRESH, FRESH_EOY],
        {OLD: "delete: expired"},
    ),
    Case(
        "the newest complete run of a tier is kept past its retention",
        [run("2023-01-01"), run("2024-01-01"), FRESH_INCOMPLETE],
        {OLDER: "delete: expired", OLD: "keep: minimum keep"},
    ),
    Case(
        "minimum keep is counted per tier",
        [run("2023-01-01"), run("2024-01-01"), run("2014-12-31", tier=EOY), FRESH_INCOMPLETE],
        {
            OLDER: "delete: expired",
            OLD: "keep: minimum keep",
            "end-of-year/FY2014/20141231T000000Z": "keep: minimum keep",
        },
    ),
    Case(
        "minimum keep skips incomplete runs and keeps the newest complete one",
        [run("2023-01-01", "a=ok b=ok"), run("2024-01-01", "a=failed b=ok"), FRESH_EOY],
        {OLDER: "keep: minimum keep", OLD: "delete: expired"},
    ),
    Case(
        "minimum keep of three keeps the three newest complete runs",
        [*(run(f"202{year}-01-01") for year in range(5)), FRESH_INCOMPLETE],
        {
            "end-of-month/2020-01/20200101T000000Z": "delete: expired",
            "end-of-month/2021-01/20210101T000000Z": "delete: expired",
            "end-of-month/2022-01/20220101T000000Z": "keep: minimum keep",
            OLDER: "keep: minimum keep",
            OLD: "keep: minimum keep",
        },
        policy=RetentionPolicy(400, 3650, minimum_keep=3),
    ),
    Case(
        "minimum keep of zero keeps nothing for being the newest",
        [run("2024-01-01", "")],
        {OLD: "delete: expired"},
        policy=NO_KEEP,
    ),
    Case(
        "a held run is never deleted and raises no alert",
        [run("2024-01-01", held=True), FRESH],
        {OLD: "keep: legal hold"},
    ),
    Case(
        "the last good copy of a database is kept past retention and alerted",
        [run("2023-01-01", "a=ok x=ok"), run("2024-01-01", "a=ok x=failed"), FRESH],
        {OLDER: "keep: last good copy", OLD: "delete: expired"},
        alerts={OLDER},
    ),
    Case(
        "the last good copy is found across tiers",
        [run("2022-12-31", "x=ok", tier=EOY), run("2024-01-01", "x=failed"), FRESH],
        {"end-of-year/FY2022/20221231T000000Z": "keep: last good copy", OLD: "delete: expired"},
        alerts={"end-of-year/FY2022/20221231T000000Z"},
        policy=RetentionPolicy(400, 1000, minimum_keep=0),
    ),
    Case(
        "a newer good copy in the other tier frees an old one",
        [run("2022-12-31", "x=ok", tier=EOY), run("2024-01-01", "x=ok")],
        {"end-of-year/FY2022/20221231T000000Z": "delete: expired", OLD: "keep: last good copy"},
        alerts={OLD},
        policy=RetentionPolicy(400, 1000, minimum_keep=0),
    ),
    Case(
        "a database missing from every newer run (dropped) does not pin its last copy",
        [run("2023-01-01", "a=ok x=ok"), run("2024-01-01", "a=ok"), FRESH],
        {OLDER: "delete: expired", OLD: "delete: expired"},
    ),
    Case(
        "a database that failed and then was dropped still pins its last good copy",
        [run("2023-01-01", "x=ok"), run("2024-01-01", "x=failed"), FRESH],
        {OLDER: "keep: last good copy", OLD: "delete: expired"},
        alerts={OLDER},
    ),
    Case(
        "the newest readable run keeps its good dumps when backups stopped long ago",
        [run("2023-01-01", "a=ok"), run("2024-01-01", "a=ok x=failed")],
        {OLDER: "delete: expired", OLD: "keep: last good copy"},
        alerts={OLD},
        policy=NO_KEEP,
    ),
    Case(
        "a run with an unreadable manifest expires like any other",
        [run("2024-01-01", "?"), FRESH],
        {OLD: "delete: expired"},
    ),
    Case(
        "a run with an unreadable manifest is never counted as complete",
        [run("2023-01-01"), run("2024-01-01", "?"), FRESH_INCOMPLETE],
        {OLDER: "keep: minimum keep", OLD: "delete: expired"},
    ),
    Case(
        "a run with an unreadable manifest is not a newer run for the last good copy",
        [run("2023-01-01", "x=ok"), run("2024-01-01", "?")],
        {OLDER: "keep: last good copy", OLD: "delete: expired"},
        alerts={OLDER},
        policy=NO_KEEP,
    ),
    Case(
        "a run with no databases is complete, and older copies are then of dropped databases",
        [run("2023-01-01"), run("2024-01-01", "")],
        {OLDER: "delete: expired", OLD: "keep: minimum keep"},
    ),
    Case(
        "every rail that applies is named, and the last good copy still alerts when held",
        [run("2023-01-01", "x=ok", held=True), run("2024-01-01", "x=failed")],
        {OLDER: "keep: legal hold + minimum keep + last good copy", OLD: "delete: expired"},
        alerts={OLDER},
    ),
    Case(
        "partial debris older than a day is deleted",
        [run("20260614T115959Z", "?", partial=True), FRESH],
        {"end-of-month/2026-06/20260614T115959Z.partial": "delete: partial debris"},
    ),
    Case(
        "partial debris younger than a day may be a run in progress and is left alone",
        [run("20260614T120000Z", "?", partial=True), FRESH],
        {},
    ),
    Case(
        "held partial debris is kept",
        [run("2024-01-01", "?", partial=True, held=True), FRESH],
        {OLD + ".partial": "keep: legal hold"},
    ),
    Case(
        "partial debris is not complete and is not a newer run",
        [run("2023-01-01", "x=ok"), run("2024-01-01", "x=ok", partial=True)],
        {OLDER: "keep: minimum keep + last good copy", OLD + ".partial": "delete: partial debris"},
        alerts={OLDER},
    ),
    Case(
        "partial debris follows the configured maximum age, not the tier's retention",
        [run("20260615T100000Z", "?", partial=True), run("20260615T110001Z", "?", partial=True)],
        {"end-of-month/2026-06/20260615T100000Z.partial": "delete: partial debris"},
        policy=RetentionPolicy(400, 3650, partial_max_age=timedelta(hours=1)),
    ),
    Case(
        "runs with the same run id in both tiers are not newer than each other",
        [run("2024-01-01", "x=ok"), run("2024-01-01", "x=failed", tier=EOY)],
        {OLD: "keep: last good copy", "end-of-year/FY2024/20240101T000000Z": "delete: expired"},
        alerts={OLD},
        policy=RetentionPolicy(400, 400, minimum_keep=0),
    ),
    Case(
        "a run dated in the future never expires",
        [run("2030-01-01"), run("2024-01-01", "b=ok")],
        {OLD: "delete: expired"},
    ),
    Case(
        "a retention too long to subtract from now never expires anything",
        [run("0001-01-01"), run("2024-01-01")],
        {},
        policy=RetentionPolicy(999_999_999, 3650),
    ),
    Case(
        "a retention too long for a time span never expires anything",
        [run("2024-01-01")],
        {},
        policy=RetentionPolicy(10**12, 10**12),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_plan_retention_decides_each_rule_and_edge(case: Case):
    plan = plan_retention(case.runs, case.policy, NOW)

    assert outcome(plan) == case.expected
    assert {alert.run.path for alert in plan.alerts} == case.alerts


def test_deletions_come_oldest_first_whatever_the_input_order():
    runs = [run(f"20{year:02d}-0{month}-01", "") for year in range(10, 20) for month in (1, 5)]
    runs.append(FRESH)
    shuffled = runs[:]
    random.Random(7).shuffle(shuffled)

    plan = plan_retention(shuffled, RetentionPolicy(400, 3650), NOW)

    assert [d.run for d in plan.deletions] == runs[:-1]
    assert plan == plan_retention(runs, RetentionPolicy(400, 3650), NOW)


def test_deletion_reasons_name_the_rule_the_tier_and_the_age():
    runs = [run("2024-01-01"), run("2014-12-31", tier=EOY), run("2024-01-01", "?", partial=True)]
    runs += [FRESH, FRESH_EOY]

    plan = plan_retention(runs, RetentionPolicy(400, 3650), NOW)

    assert [(d.rule, d.reason) for d in plan.deletions] == [
        (DeletionRule.EXPIRED, "expired: end-of-year run older than 3650 days"),
        (DeletionRule.EXPIRED, "expired: end-of-month run older than 400 days"),
        (DeletionRule.PARTIAL_DEBRIS, "partial debris older than 24 hours"),
    ]


def test_kept_reason_and_alert_name_the_databases_and_the_retention():
    runs = [run("2023-01-01", "x=ok y=ok z=ok", held=True), run("2024-01-01", "x=failed y=failed")]
    runs.append(run("2026-06-01", "x=failed y=failed z=ok"))

    plan = plan_retention(runs, NO_KEEP, NOW)

    (kept,) = plan.kept
    assert kept.rails == (KeepRail.LEGAL_HOLD, KeepRail.LAST_GOOD_COPY)
    assert kept.last_good_of == ("x", "y")
    assert kept.reason == (
        "legal hold; last good copy of databases 'x', 'y' (no newer run has a good dump)"
    )
    (alert,) = plan.alerts
    assert alert.databases == ("x", "y")
    assert alert.message == (
        "end-of-month/2023-01/20230101T000000Z is past its 400-day retention but holds the "
        "last good copy of databases 'x', 'y': no newer run has a good dump"
    )


def test_minimum_keep_reason_names_the_count_and_tier():
    plan = plan_retention([run("2024-01-01")], RetentionPolicy(400, 3650, minimum_keep=2), NOW)

    assert plan.kept[0].reason.startswith("one of the newest 2 complete end-of-month runs")


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (timedelta(hours=48), "48 hours"),
        (timedelta(hours=1), "1 hour"),
        (timedelta(minutes=90), "90 minutes"),
        (timedelta(seconds=61), "61 seconds"),
        (timedelta(seconds=1, microseconds=500), "0:00:01.000500"),
    ],
)
def test_partial_debris_reason_says_the_maximum_age_in_plain_units(duration, text):
    policy = RetentionPolicy(400, 3650, partial_max_age=duration)

    plan = plan_retention([run("2024-01-01", "?", partial=True)], policy, NOW)

    assert plan.deletions[0].reason == f"partial debris older than {text}"


def test_debris_of_a_run_known_dead_goes_at_once_and_says_why():
    """Once a dead run's lock was taken over its debris goes whatever its age; no age is quoted."""
    policy = RetentionPolicy(400, 3650, partials_abandoned=True)
    same_second = run(NOW.strftime("%Y%m%dT%H%M%SZ"), "?", partial=True)

    plan = plan_retention([same_second], policy, NOW + timedelta(milliseconds=1))

    assert [d.reason for d in plan.deletions] == [
        "partial debris of a run that is no longer running"
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"end_of_month_days": 0, "end_of_year_days": 3650},
            "end-of-month retention must be at least 1 day, not 0: nothing is deleted",
        ),
        (
            {"end_of_month_days": 400, "end_of_year_days": -5},
            "end-of-year retention must be at least 1 day, not -5: nothing is deleted",
        ),
        (
            {"end_of_month_days": 400, "end_of_year_days": 3650, "minimum_keep": -1},
            "retention minimum_keep must be 0 or more, not -1",
        ),
        (
            {"end_of_month_days": 400, "end_of_year_days": 3650, "partial_max_age": timedelta()},
            "partial_max_age must be positive, not 0:00:00",
        ),
    ],
)
def test_an_invalid_retention_policy_is_a_configuration_error(kwargs, message):
    with pytest.raises(RetentionConfigError) as raised:
        RetentionPolicy(**kwargs)

    assert str(raised.value) == message
    assert isinstance(raised.value, ValueError)


def test_planning_refuses_a_naive_now():
    with pytest.raises(ValueError, match="timezone-aware"):
        plan_retention([FRESH], RetentionPolicy(400, 3650), datetime(2026, 1, 1))  # noqa: DTZ001


def test_planning_nothing_gives_an_empty_plan():
    assert plan_retention([], RetentionPolicy(1, 1), NOW) == RetentionPlan()


def test_run_facts_hash_by_place_and_know_their_path():
    one = run("2024-01-01", "a=ok")
    same = run("2024-01-01", "a=ok")

    assert {one, same} == {one}
    assert one.path == OLD
    assert run("2024-01-01", partial=True).path == OLD + ".partial"
    assert one.complete
    assert not run("2024-01-01", "a=ok", partial=True).complete
    assert not run("2024-01-01", "?").complete


def test_database_statuses_reads_a_manifest_and_a_duplicate_name_is_ok_only_if_all_are():
    def record(name, status):
        return DumpRecord(name=name, file=name, status=status, started=NOW, finished=NOW)

    manifest = Manifest(
        client="c",
        run_id="20260615T120000Z",
        tier=EOM,
        period="2026-06",
        eoy_month=12,
        started=NOW,
        finished=NOW,
        tool_version="0",
        server_version="16",
        pg_dump_version="16",
        archive_format="custom",
        compression="gzip",
        key_name="k",
        key_fingerprint="f",
        databases=[
            record("a", DumpStatus.OK),
            record("b", DumpStatus.FAILED),
            record("b", DumpStatus.OK),
            record("c", DumpStatus.OK),
            record("c", DumpStatus.FAILED),
        ],
    )

    assert database_statuses(manifest) == {
        "a": DumpStatus.OK,
        "b": DumpStatus.FAILED,
        "c": DumpStatus.FAILED,
    }
    assert database_statuses(None) is None
