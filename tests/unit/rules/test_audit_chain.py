"""Hash-chained audit logs: made line by line, checked line by line, old logs continued."""

import json
from pathlib import PurePosixPath

import pytest

from adapters.memory.file_share import InMemoryFileShare
from domain.rules.audit_chain import (
    GENESIS,
    ChainBreak,
    chained,
    first_break,
    line_hash,
    next_entries,
)
from domain.services.audit_log import AuditLog

LOG = PurePosixPath("retention.log")


def build(*entries):
    lines: list[str] = []
    for entry in entries:
        lines += next_entries(lines, entry)
    return lines


def test_each_line_carries_the_sha256_of_the_line_before():
    lines = build({"n": 1}, {"n": 2}, {"n": 3})
    values = [json.loads(line) for line in lines]
    assert values[0]["prev"] == GENESIS
    assert values[1]["prev"] == line_hash(lines[0])
    assert values[2]["prev"] == line_hash(lines[1])
    assert first_break(lines) is None


def test_a_changed_line_is_found_at_that_line():
    lines = build({"n": 1}, {"n": 2}, {"n": 3})
    lines[1] = lines[1].replace('"n": 2', '"n": 9')
    assert first_break(lines) == ChainBreak(2, "was changed after it was written (line_sha256)")


def test_a_changed_last_line_is_found_though_no_line_follows_it():
    lines = build({"n": 1}, {"n": 2})
    lines[1] = lines[1].replace('"n": 2', '"n": 9')
    assert first_break(lines) == ChainBreak(2, "was changed after it was written (line_sha256)")
    assert first_break([lines[0].replace('"n": 1', '"n": 0')]) == ChainBreak(
        1, "was changed after it was written (line_sha256)"
    )


def test_a_changed_line_whose_own_hash_was_recomputed_breaks_the_chain_at_the_next_line():
    lines = build({"n": 1}, {"n": 2}, {"n": 3})
    lines[1] = chained({"n": 9}, json.loads(lines[1])["prev"])
    assert first_break(lines) == ChainBreak(3, "does not carry the sha256 of the line before it")


def test_a_line_written_before_lines_carried_their_own_hash_is_checked_by_the_chain():
    first = json.dumps({"n": 1, "prev": GENESIS}, sort_keys=True)
    lines = [first, chained({"n": 2}, line_hash(first))]
    assert first_break(lines) is None
    assert first_break([first.replace('"n": 1', '"n": 5'), lines[1]]) == ChainBreak(
        2, "does not carry the sha256 of the line before it"
    )


def test_a_line_stripped_of_its_own_hash_after_one_that_carries_it_is_found():
    lines = build({"n": 1}, {"n": 2})
    stripped = json.loads(lines[1])
    del stripped["line_sha256"]
    assert first_break([lines[0], json.dumps(stripped, sort_keys=True)]) == ChainBreak(
        2, "was changed after it was written (line_sha256)"
    )


def test_an_entry_may_not_set_the_previous_hash_itself():
    with pytest.raises(ValueError, match="prev"):
        chained({"prev": "x"}, GENESIS)
    with pytest.raises(ValueError, match="line_sha256"):
        chained({"line_sha256": "x"}, GENESIS)


def test_an_old_format_log_is_kept_and_continued_from_a_marker():
    old = ["2026-01-01 deleted a: expired", "2026-02-01 deleted b: expired"]
    lines = [*old, *next_entries(old, {"n": 1})]
    assert lines[:2] == old
    marker = json.loads(lines[2])
    assert marker["chain"].startswith("starts here")
    assert marker["legacy_lines"] == 2
    assert first_break(lines) is None
    tampered = ["2026-01-01 deleted z: expired", *lines[1:]]
    assert first_break(tampered) == ChainBreak(3, "does not match the old-format lines above it")


def test_the_audit_log_appends_on_the_share_and_finds_a_break():
    share = InMemoryFileShare()
    log = AuditLog(share, LOG)
    assert log.first_break() is None
    log.append({"event": "deleted", "run": "a"})
    log.append({"event": "deleted", "run": "b"})
    assert len(log.lines()) == 2
    assert log.first_break() is None
    text = share.files[LOG].decode().replace('"run": "a"', '"run": "x"')
    share.files[LOG] = text.encode()
    assert log.first_break() == ChainBreak(1, "was changed after it was written (line_sha256)")
