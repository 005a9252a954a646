"""hold and release as the operator runs them, then retention, on a local share (SPEC 16).

The jobs run as the scheduler runs them, under libfaketime so the clock reads a date at which
the held run is long past its retention.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.files.local_share import LocalDirFileShare
from domain.rules.audit_chain import first_break
from tests.integration.test_retention_job import client_values
from tests.support.jobs import Site
from tests.support.seeding import at, seed_run

pytestmark = pytest.mark.integration

LATER = "2029-11-28 12:00:00"
HELD = "20260228T220000Z"
HELD_PATH = f"end-of-month/2026-02/{HELD}"


@pytest.fixture
def site(tmp_path: Path) -> tuple[Site, str]:
    site = Site(tmp_path)
    share = LocalDirFileShare(site.share)
    for month in (2, 3):
        seed_run(share, at(2026, month))
    seed_run(share, at(2029, 10))
    return site, site.write_client_config("acme", client_values(site.share))


def audit(site: Site) -> list[dict[str, object]]:
    lines = (site.share / "retention.log").read_text().splitlines()
    assert first_break(lines) is None
    return [json.loads(line) for line in lines]


def listed(site: Site, url: str) -> dict[str, dict[str, object]]:
    result = site.run("list", "acme", url, "-", "-", "--json", at=LATER)
    assert result.code == 0, result.stdout + result.stderr
    return {row["run_id"]: row for row in json.loads(result.stdout)["runs"]}


def test_hold_keeps_a_run_past_retention_release_lets_it_go_and_the_log_has_all_three(site):
    site, url = site
    held = site.run("hold", "acme", url, "-", "-", "--run", HELD, "--reason", "case 42", at=LATER)
    assert held.code == 0, held.stdout + held.stderr
    assert held.stdout.splitlines() == [f"hold acme: {HELD_PATH} is on hold, 0 failures"]
    document = json.loads((site.share / HELD_PATH / "HOLD").read_text())
    assert document["reason"] == "case 42"
    assert document["since"].startswith("2029-11-28T12:00")
    assert document["user"]
    assert document["host"]
    row = listed(site, url)[HELD]
    assert (row["held"], row["hold_reason"], row["held_by"]) == (
        True,
        "case 42",
        f"{document['user']}@{document['host']}",
    )
    table = site.run("list", "acme", url, "-", "-", at="2029-12-08 18:00:00").stdout
    assert "held 10d: case 42" in table, table

    kept = site.run("retention", "acme", url, "-", "-", at=LATER)
    assert kept.code == 0, kept.stdout
    assert (site.share / HELD_PATH).is_dir()
    assert not (site.share / "end-of-month/2026-03").exists() or not any(
        (site.share / "end-of-month/2026-03").iterdir()
    )

    released = site.run(
        "release", "acme", url, "-", "-", "--run", HELD, "--reason", "case closed", at=LATER
    )
    assert released.code == 0, released.stdout + released.stderr
    assert not (site.share / HELD_PATH / "HOLD").exists()
    gone = site.run("retention", "acme", url, "-", "-", at=LATER)
    assert gone.code == 0, gone.stdout
    assert not (site.share / HELD_PATH).exists()

    events = [(e["event"], e["run"]) for e in audit(site) if e["run"] == HELD_PATH]
    assert events == [("hold", HELD_PATH), ("release", HELD_PATH), ("deleted", HELD_PATH)]
    release = next(e for e in audit(site) if e["event"] == "release")
    assert (release["reason"], release["hold_reason"]) == ("case closed", "case 42")
    assert not (site.share / ".lts-lock.json").exists()


def test_holding_twice_a_missing_run_or_releasing_an_unheld_run_is_one_line_and_non_zero(site):
    site, url = site
    assert site.run("hold", "acme", url, "-", "-", "--run", HELD, "--reason", "a").code == 0
    twice = site.run("hold", "acme", url, "-", "-", "--run", HELD, "--reason", "b")
    assert twice.code == 1
    assert len(twice.failures) == 1
    assert "is already on hold since" in twice.failures[0]
    assert twice.failures[0].endswith(": a")
    missing = site.run("hold", "acme", url, "-", "-", "--run", "20200101T000000Z", "--reason", "x")
    assert missing.code == 1
    assert missing.failures == [
        "Failure: find_run acme no published run 20200101T000000Z on the share (see the list job)"
    ]
    unheld = site.run(
        "release", "acme", url, "-", "-", "--run", "20260328T220000Z", "--reason", "x"
    )
    assert unheld.code == 1
    assert unheld.failures == [
        "Failure: find_run acme end-of-month/2026-03/20260328T220000Z is not on hold"
    ]
    assert [e["event"] for e in audit(site)] == ["hold"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--run", "latest", "--reason", "x"], "--run must be a run id"),
        (["--run", HELD, "--reason", "two\nlines"], "one line"),
        (["--run", HELD, "--reason", "x" * 501], "at most 500"),
        (["--run", HELD, "--reason", ""], "must not be empty"),
        (["--run", HELD], "--reason"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_two(site, args, message):
    site, url = site
    result = site.run("hold", "acme", url, "-", "-", *args)
    assert result.code == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("hold: error: ")
    assert message in result.stderr
    assert not (site.share / HELD_PATH / "HOLD").exists()


def test_a_hand_placed_empty_hold_is_listed_as_held_for_an_unknown_reason_and_kept(site):
    site, url = site
    (site.share / HELD_PATH / "HOLD").write_bytes(b"")
    row = listed(site, url)[HELD]
    assert row["held"] is True
    assert row["hold_reason"] == "unknown reason (hand-placed HOLD file)"
    assert row["held_since"] == ""
    site.run("retention", "acme", url, "-", "-", at=LATER)
    assert (site.share / HELD_PATH).is_dir()
