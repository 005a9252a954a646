"""ApplyRetentionMachine, DeleteRunMachine and RetentionClientMachine with an in-memory share."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath

from adapters.memory.clock import FixedClock
from adapters.memory.console import RecordingConsole
from adapters.memory.file_share import InMemoryFileShare
from adapters.memory.task_runner import SerialTaskRunner
from domain.framework.results import Failure
from domain.machines.retention import (
    AUDIT_LOG,
    ApplyRetentionMachine,
    RetentionOptions,
    RetentionPorts,
)
from domain.models.run import Tier
from domain.rules.audit_chain import first_break
from ports.errors import ShareUnavailableError
from tests.support.seeding import at, seed_run

NOW = datetime(2026, 11, 28, 23, 0, tzinfo=UTC)
RETENTION = ["check_policy", "survey_runs", "delete_runs", "report_kept_runs"]
DELETE = ["retire_run", "delete_run", "record_deletion"]


def machine(share, tier=Tier.END_OF_MONTH, *, months=400, years=3650, console=None, **options):
    return ApplyRetentionMachine(
        client="acme",
        tier=tier,
        end_of_month_days=months,
        end_of_year_days=years,
        share=share,
        ports=RetentionPorts(FixedClock(NOW), SerialTaskRunner(), console or RecordingConsole()),
        options=RetentionOptions(**options),
    )


def names(share, tier="end-of-month"):
    found = []
    for period in share.list_dir(PurePosixPath(tier)):
        found += [
            f"{period.name}/{e.name}" for e in share.list_dir(PurePosixPath(tier, period.name))
        ]
    return sorted(found)


def test_expired_runs_are_deleted_whole_each_with_results_of_its_own_and_audited():
    share = InMemoryFileShare()
    old1 = seed_run(share, at(2024, 1))
    old2 = seed_run(share, at(2024, 2))
    seed_run(share, at(2026, 10))
    results = machine(share).execute()
    assert [r.node for r in results] == [
        "check_policy",
        "survey_runs",
        *DELETE,
        *DELETE,
        "delete_runs",
        "report_kept_runs",
    ]
    assert all(r.ok for r in results)
    assert names(share) == ["2026-10/20261028T220000Z"]
    log = [json.loads(line) for line in share.files[AUDIT_LOG].decode().splitlines()]
    assert [(e["event"], e["run"], e["rule"]) for e in log] == [
        ("deleted", str(old1), "expired: end-of-month run older than 400 days"),
        ("deleted", str(old2), "expired: end-of-month run older than 400 days"),
    ]
    assert first_break(share.files[AUDIT_LOG].decode().splitlines()) is None


def test_only_this_tiers_runs_are_deleted():
    share = InMemoryFileShare()
    seed_run(share, at(2019, 6))  # end-of-year, older than 400 days but within 3650
    seed_run(share, at(2024, 1))
    seed_run(share, at(2026, 10))
    machine(share, Tier.END_OF_YEAR).execute()
    assert names(share, "end-of-year") == ["FY2019/20190628T220000Z"]
    assert len(names(share)) == 2


def test_a_dry_run_prints_what_would_go_and_deletes_nothing():
    share = InMemoryFileShare()
    old = seed_run(share, at(2024, 1))
    seed_run(share, at(2026, 10))
    console = RecordingConsole()
    results = machine(share, dry_run=True, console=console).execute()
    assert [r.node for r in results] == RETENTION
    assert console.lines == [f"would delete {old}: expired: end-of-month run older than 400 days"]
    assert len(names(share)) == 2
    assert AUDIT_LOG not in share.files


def test_retention_days_below_one_are_a_configuration_failure_and_nothing_is_deleted():
    share = InMemoryFileShare()
    seed_run(share, at(2024, 1))
    results = machine(share, months=0).execute()
    assert results == [
        Failure(
            "check_policy",
            "acme end-of-month retention not applied: end-of-month "
            "retention must be at least 1 day, not 0: nothing is deleted",
        )
    ]
    assert len(names(share)) == 1


def test_a_held_run_is_never_deleted():
    share = InMemoryFileShare()
    seed_run(share, at(2024, 1), held=True)
    seed_run(share, at(2026, 10))
    machine(share).execute()
    assert len(names(share)) == 2


def test_the_newest_complete_run_is_kept_even_when_expired():
    share = InMemoryFileShare()
    seed_run(share, at(2023, 1))
    seed_run(share, at(2024, 1))
    machine(share).execute()
    assert names(share) == ["2024-01/20240128T220000Z"]


def test_a_last_good_copy_kept_past_retention_is_reported():
    share = InMemoryFileShare()
    seed_run(share, at(2024, 1), statuses={"sales": "ok", "hr": "ok"})
    seed_run(share, at(2026, 9), statuses={"sales": "ok", "hr": "failed"})
    seed_run(share, at(2026, 10), statuses={"sales": "ok", "hr": "failed"})
    results = machine(share).execute()
    failed = [r for r in results if not r.ok]
    assert [f.node for f in failed] == ["report_kept_runs"]
    assert "hr" in failed[0].message
    assert "2024-01/20240128T220000Z" in names(share)


def test_old_partial_debris_is_removed_and_a_fresh_partial_left_alone():
    share = InMemoryFileShare()
    seed_run(share, at(2026, 10), partial=True)
    seed_run(share, NOW - timedelta(hours=1), partial=True)
    seed_run(share, at(2026, 10, 27))
    machine(share).execute()
    assert names(share) == ["2026-10/20261027T220000Z", "2026-11/20261128T220000Z.partial"]


def test_a_failing_deletion_is_one_failure_and_the_others_proceed():
    share = InMemoryFileShare()
    seed_run(share, at(2024, 1))
    seed_run(share, at(2024, 2))
    seed_run(share, at(2026, 10))

    share.broken["delete_tree"] = ShareUnavailableError("permission denied")
    results = machine(share).execute()
    failed = [(r.node, r.message) for r in results if not r.ok]
    assert failed == [
        ("delete_run", "acme end-of-month/2024-01/20240128T220000Z permission denied"),
        ("delete_run", "acme end-of-month/2024-02/20240228T220000Z permission denied"),
    ]
    # The failed runs were retired to partial debris: nothing looks complete that is not.
    assert names(share)[:2] == [
        "2024-01/20240128T220000Z.partial",
        "2024-02/20240228T220000Z.partial",
    ]


def test_an_unreadable_manifest_makes_a_run_incomplete_but_it_still_expires():
    share = InMemoryFileShare()
    seed_run(share, at(2024, 1), manifest=False)
    seed_run(share, at(2026, 10))
    machine(share).execute()
    assert names(share) == ["2026-10/20261028T220000Z"]


def test_a_symlinked_run_is_never_followed_or_deleted():
    share = InMemoryFileShare()
    seed_run(share, at(2026, 10))
    link = PurePosixPath("end-of-month/2024-01/20240128T220000Z")
    share.make_dirs(link.parent)
    share.files[link] = b"-> /etc"
    share.symlinks.add(link)
    machine(share).execute()
    assert share.files[link] == b"-> /etc"


def test_a_share_that_fails_while_reading_manifests_stops_retention_and_deletes_nothing():
    share = InMemoryFileShare()
    seed_run(share, at(2023, 1))
    seed_run(share, at(2024, 1))
    share.broken["read_stream"] = ShareUnavailableError("connection reset")
    results = machine(share).execute()
    assert [(r.node, r.ok) for r in results] == [("check_policy", True), ("survey_runs", False)]
    assert len(names(share)) == 2


def test_a_minimal_hand_written_manifest_still_counts_for_the_safety_rails():
    share = InMemoryFileShare()
    for started in (at(2023, 1), at(2024, 1)):
        run_dir = seed_run(share, started, manifest=False)
        share.write_stream(
            run_dir / "manifest.json",
            [b'{"databases": [{"name": "sales", "status": "ok", "extra": 1}]}'],
        )
    machine(share).execute()
    # The newer run is complete, so minimum_keep keeps it although it has expired.
    assert names(share) == ["2024-01/20240128T220000Z"]
