"""The retention and list jobs on a local share seeded with years of runs, the clock moved ahead.

The job runs as the scheduler runs it, under libfaketime (`faketime`) so its clock reads
2029-11-28 while the runs were made from 2025 on.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.files.local_share import LocalDirFileShare
from tests.support.jobs import Site, b64
from tests.support.seeding import at, seed_run

pytestmark = pytest.mark.integration

LATER = "2029-11-28 12:00:00"


def client_values(share: Path) -> dict[str, str]:
    return {
        "client-name": "acme",
        "postgresql-host": "db.acme.test",
        "postgresql-auth": "password",
        "postgresql-user": "backup",
        "postgresql-secret": "pw-not-used-here",
        "key-name": "acme",
        "public-key": b64(b"not used by retention"),
        "storage-unc": f"file://{share}",
        "end-of-month-retention": "400",
        "end-of-year-retention": "1000",
    }


@pytest.fixture
def seeded(tmp_path: Path) -> tuple[Site, str, Path]:
    site = Site(tmp_path)
    share = LocalDirFileShare(site.share)
    seed_run(share, at(2026, 1), held=True)
    seed_run(share, at(2026, 2))
    seed_run(share, at(2026, 3), statuses={"sales": "ok", "legacy": "ok"})
    seed_run(share, at(2027, 5), partial=True)
    seed_run(share, at(2028, 12), statuses={"sales": "ok", "legacy": "failed"})
    seed_run(share, at(2029, 10), statuses={"sales": "ok", "legacy": "failed"})
    seed_run(share, at(2025, 6))
    seed_run(share, at(2026, 6))
    seed_run(share, at(2029, 6))
    outside = tmp_path / "outside" / "20270128T220000Z"
    outside.mkdir(parents=True)
    (outside / "precious.txt").write_text("must survive")
    (site.share / "end-of-month" / "2027-01").symlink_to(outside.parent)
    (site.share / "end-of-month" / "2028-01").mkdir()
    (site.share / "end-of-month" / "2028-01" / "20280128T220000Z").symlink_to(outside)
    url = site.write_client_config("acme", client_values(site.share))
    return site, url, outside


def remaining(share: Path) -> set[str]:
    return {
        str(p.relative_to(share))
        for p in share.glob("end-of-*/*/*")
        if not p.is_symlink() and not p.parent.is_symlink()
    }


def test_a_dry_run_lists_what_would_go_and_why_and_deletes_nothing(seeded):
    site, url, _ = seeded
    before = remaining(site.share)
    result = site.run("retention", "acme", url, "-", "-", "--dry-run", at=LATER)
    would = [line for line in result.stdout.splitlines() if line.startswith("would delete ")]
    assert would == [
        "would delete end-of-month/2026-02/20260228T220000Z: expired: end-of-month run older "
        "than 400 days",
        "would delete end-of-month/2027-05/20270528T220000Z.partial: partial debris older "
        "than 24 hours",
        "would delete end-of-year/FY2025/20250628T220000Z: expired: end-of-year run older "
        "than 1000 days",
        "would delete end-of-year/FY2026/20260628T220000Z: expired: end-of-year run older "
        "than 1000 days",
    ]
    assert remaining(site.share) == before
    assert not (site.share / "retention.log").exists()


def test_retention_deletes_exactly_the_expected_runs_and_records_them(seeded):
    site, url, outside = seeded
    result = site.run("retention", "acme", url, "-", "-", at=LATER)
    assert result.code == 1, result.stdout + result.stderr
    assert len(result.failures) == 1
    assert result.failures[0].startswith("Failure: report_kept_runs acme end-of-month ")
    assert "legacy" in result.failures[0]
    assert remaining(site.share) == {
        "end-of-month/2026-01/20260128T220000Z",
        "end-of-month/2026-03/20260328T220000Z",
        "end-of-month/2028-12/20281228T220000Z",
        "end-of-month/2029-10/20291028T220000Z",
        "end-of-year/FY2029/20290628T220000Z",
    }
    log = [json.loads(line) for line in (site.share / "retention.log").read_text().splitlines()]
    assert len(log) == 4
    assert all(entry["time"].startswith("2029-11-28T12:00") for entry in log)
    assert sorted(entry["run"] for entry in log) == [
        "end-of-month/2026-02/20260228T220000Z",
        "end-of-month/2027-05/20270528T220000Z.partial",
        "end-of-year/FY2025/20250628T220000Z",
        "end-of-year/FY2026/20260628T220000Z",
    ]
    assert (outside / "precious.txt").read_text() == "must survive"
    assert (site.share / "end-of-month" / "2027-01").is_symlink()
    assert not (site.share / ".lts-lock.json").exists()


def test_the_list_job_shows_every_run_as_json(seeded):
    site, url, _ = seeded
    result = site.run("list", "acme", url, "-", "-", "--json", at=LATER)
    assert result.code == 0, result.stdout + result.stderr
    document = json.loads(result.stdout)
    rows = {(r["tier"], r["period"]): r for r in document["runs"]}
    assert rows[("end-of-month", "2026-01")]["held"] is True
    assert rows[("end-of-month", "2026-03")]["databases_ok"] == 2
    assert rows[("end-of-month", "2029-10")]["databases_failed"] == 1
    assert rows[("end-of-month", "2029-10")]["status"] == "incomplete"
    assert rows[("end-of-month", "2027-05")]["status"] == "partial"
    assert rows[("end-of-year", "FY2029")]["expires"] == "2032-03-24"
    assert rows[("end-of-month", "2026-02")]["bytes"] == 100
    assert ("end-of-month", "2027-01") not in rows


def test_the_list_job_prints_a_table_by_default(seeded):
    site, url, _ = seeded
    result = site.run("list", "acme", url, "-", "-")
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "TIER",
        "PERIOD",
        "RUN",
        "STATUS",
        "DB",
        "OK",
        "DB",
        "FAILED",
        "BYTES",
        "HOLD",
        "EXPIRES",
        "PROVEN",
        "RESTORABLE",
    ]
    assert lines[-1].startswith("list acme: 9 runs, 0 failures")
