"""HoldRunMachine and ReleaseRunMachine on an in-memory share: every edge, exact node order."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath

import pytest

from adapters.memory.clock import FixedClock
from adapters.memory.config_source import InMemoryConfigSource
from adapters.memory.file_share import InMemoryFileShare
from domain.framework.results import Failure
from domain.machines.hold import HoldRunMachine, Operator, ReleaseRunMachine
from domain.machines.mount import ClientContext
from domain.models.client_config import ClientConfig
from domain.models.hold import Hold, HoldRequest, check_reason
from domain.models.redaction import Redactor
from domain.models.run import RunId
from domain.rules.audit_chain import first_break
from domain.services.configs import read_client_config
from domain.services.share_lock import SHARE_LOCK_FILE
from ports.errors import ShareUnavailableError
from tests.support.memory_world import client_values
from tests.support.seeding import at, seed_run

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
RUN = RunId.at(at(2026, 3))
LOG = PurePosixPath("retention.log")
HOLD = ["take_share_lock", "find_run", "write_hold", "record_hold", "release_share_lock"]
RELEASE = ["take_share_lock", "find_run", "record_release", "remove_hold", "release_share_lock"]


def config() -> ClientConfig:
    return read_client_config(InMemoryConfigSource(client_values()), "acme", Redactor())


def make(kind, share, run_id=RUN, reason="case 42"):
    return kind(
        ClientContext(config(), share),
        request=HoldRequest(run_id=run_id, reason=reason),
        clock=FixedClock(NOW),
        operator=Operator(user="alice", host="ops1"),
        lock_owner="host ops1 pid 7",
        share_lock_max_age=timedelta(hours=48),
    )


def seeded() -> tuple[InMemoryFileShare, PurePosixPath]:
    share = InMemoryFileShare()
    path = seed_run(share, at(2026, 3))
    seed_run(share, at(2026, 4))
    return share, path


def log(share):
    return [json.loads(line) for line in share.files[LOG].decode().splitlines()]


def test_a_hold_writes_the_reason_who_and_when_and_records_it_in_retention_log():
    share, path = seeded()
    machine = make(HoldRunMachine, share)
    results = machine.execute()
    assert [r.node for r in results] == HOLD
    assert all(r.ok for r in results)
    hold = Hold.parse(share.files[path / "HOLD"])
    assert hold == Hold("case 42", "alice", "ops1", NOW, recorded=True)
    (entry,) = log(share)
    assert entry["event"] == "hold"
    assert entry["run"] == str(path)
    assert (entry["reason"], entry["user"], entry["host"]) == ("case 42", "alice", "ops1")
    assert entry["time"] == NOW.isoformat()
    assert SHARE_LOCK_FILE not in share.files
    assert machine.summary(results) == f"hold acme: {path} is on hold, 0 failures"


def test_a_release_records_first_then_removes_the_hold():
    share, path = seeded()
    make(HoldRunMachine, share).execute()
    machine = make(ReleaseRunMachine, share, reason="case closed")
    results = machine.execute()
    assert [r.node for r in results] == RELEASE
    assert all(r.ok for r in results)
    assert path / "HOLD" not in share.files
    _, release = log(share)
    assert release["event"] == "release"
    assert release["reason"] == "case closed"
    assert release["hold_reason"] == "case 42"
    assert release["held_since"] == NOW.isoformat()
    assert first_break(share.files[LOG].decode().splitlines()) is None
    assert machine.summary(results) == f"release acme: {path} is released, 0 failures"


def test_holding_a_run_that_does_not_exist_is_one_failure_and_changes_nothing():
    share, _ = seeded()
    results = make(HoldRunMachine, share, run_id=RunId.at(at(2020, 1))).execute()
    assert [r.node for r in results] == ["take_share_lock", "find_run", "release_share_lock"]
    (failure,) = [r for r in results if isinstance(r, Failure)]
    assert (
        failure.message == "acme no published run 20200128T220000Z on the share (see the list job)"
    )
    assert LOG not in share.files
    assert SHARE_LOCK_FILE not in share.files


def test_a_partial_run_cannot_be_held():
    share = InMemoryFileShare()
    seed_run(share, at(2026, 3), partial=True)
    results = make(HoldRunMachine, share).execute()
    assert "no published run" in next(r for r in results if isinstance(r, Failure)).message


def test_holding_twice_says_since_when_by_whom_and_why():
    share, path = seeded()
    make(HoldRunMachine, share).execute()
    before = dict(share.files)
    results = make(HoldRunMachine, share, reason="another case").execute()
    (failure,) = [r for r in results if isinstance(r, Failure)]
    assert failure.node == "find_run"
    assert failure.message == (
        f"acme {path} is already on hold since {NOW.isoformat()} by alice@ops1: case 42"
    )
    assert share.files == before


def test_a_hand_placed_empty_hold_counts_as_held_with_an_unknown_reason():
    share, path = seeded()
    share.write_stream(path / "HOLD", [b""])
    results = make(HoldRunMachine, share).execute()
    (failure,) = [r for r in results if isinstance(r, Failure)]
    assert "already on hold since an unknown time: unknown reason (hand-placed HOLD file)" in (
        failure.message
    )


def test_a_hand_placed_hold_can_be_released():
    share, path = seeded()
    share.write_stream(path / "HOLD", [b"legal: case 7\n"])
    results = make(ReleaseRunMachine, share, reason="done").execute()
    assert all(r.ok for r in results)
    assert log(share)[0]["hold_reason"] == "legal: case 7"
    assert log(share)[0]["held_since"] is None


def test_releasing_a_run_that_is_not_held_is_one_failure_and_records_nothing():
    share, path = seeded()
    results = make(ReleaseRunMachine, share).execute()
    assert [r.node for r in results] == ["take_share_lock", "find_run", "release_share_lock"]
    assert [r.message for r in results if isinstance(r, Failure)] == [f"acme {path} is not on hold"]
    assert LOG not in share.files


def test_a_live_share_lock_refuses_the_hold():
    share, path = seeded()
    marker = {"owner": "host b pid 9", "since": (NOW - timedelta(hours=1)).isoformat()}
    share.write_stream(SHARE_LOCK_FILE, [json.dumps(marker).encode()])
    results = make(HoldRunMachine, share).execute()
    assert [r.node for r in results] == ["take_share_lock"]
    assert "in progress" in results[0].message
    assert path / "HOLD" not in share.files


def test_a_stale_share_lock_is_taken_over_reported_and_the_hold_goes_on():
    share, path = seeded()
    marker = {"owner": "host b pid 9", "since": (NOW - timedelta(days=9)).isoformat()}
    share.write_stream(SHARE_LOCK_FILE, [json.dumps(marker).encode()])
    results = make(HoldRunMachine, share).execute()
    assert [r.node for r in results] == HOLD
    assert not results[0].ok
    assert path / "HOLD" in share.files


def test_a_hold_whose_log_cannot_be_appended_stays_in_place_and_is_reported():
    share, path = seeded()
    share.broken["append_line"] = ShareUnavailableError("disk gone")
    results = make(HoldRunMachine, share).execute()
    assert [r.node for r in results] == HOLD
    (failure,) = [r for r in results if isinstance(r, Failure)]
    assert failure.node == "record_hold"
    assert "is on hold, but retention.log could not be appended (disk gone)" in failure.message
    assert path / "HOLD" in share.files


def test_a_hold_file_that_cannot_be_written_is_reported_and_nothing_is_recorded():
    share, _ = seeded()
    share.fail_writes_after = 0
    results = make(HoldRunMachine, share).execute()
    assert [r.node for r in results] == ["take_share_lock"]
    share.fail_writes_after = share._writes + 1  # the lock marker is written, the HOLD file not
    results = make(HoldRunMachine, share).execute()
    assert [r.node for r in results] == [
        "take_share_lock",
        "find_run",
        "write_hold",
        "release_share_lock",
    ]
    assert LOG not in share.files


def test_a_release_whose_log_cannot_be_appended_keeps_the_hold():
    share, path = seeded()
    make(HoldRunMachine, share).execute()
    share.broken["append_line"] = ShareUnavailableError("disk gone")
    results = make(ReleaseRunMachine, share).execute()
    assert [r.node for r in results] == [
        "take_share_lock",
        "find_run",
        "record_release",
        "release_share_lock",
    ]
    assert path / "HOLD" in share.files


def test_a_release_whose_hold_cannot_be_removed_is_reported_after_it_was_recorded():
    share, path = seeded()
    make(HoldRunMachine, share).execute()
    share.broken["delete_file"] = ShareUnavailableError("busy")
    results = make(ReleaseRunMachine, share).execute()
    assert [r.node for r in results] == RELEASE
    assert [r.node for r in results if isinstance(r, Failure)] == [
        "remove_hold",
        "release_share_lock",
    ]
    assert path / "HOLD" in share.files


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("x" * 501, "at most 500 characters"),
        ("two\nlines", "one line"),
        ("bell\a", "one line"),
        ("esc \x1b[31m", "one line"),
        ("rtl \u202e override", "one line"),
        ("line\u2028sep", "one line"),
    ],
)
def test_a_reason_must_be_one_bounded_printable_line(text, message):
    with pytest.raises(ValueError, match=message):
        check_reason(text)


def test_a_reason_is_stripped_and_may_hold_any_printable_text():
    assert (
        check_reason("  Affaire n° 42 — tribunal de Paris  ") == "Affaire n° 42 — tribunal de Paris"
    )


def test_a_hold_file_with_control_characters_is_shown_safely():
    hold = Hold.parse(json.dumps({"reason": "a\x1b[2Jb", "user": "u\nv", "since": "x"}).encode())
    assert hold.reason == "a?[2Jb"
    assert hold.user == "u?v"
    assert hold.since is None
