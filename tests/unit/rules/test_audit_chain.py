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


def test_a_changed_line_breaks_the_chain_at_the_next_line():
    lines = build({"n": 1}, {"n": 2}, {"n": 3})
    lines[1] = lines[1].replace('"n": 2', '"n": 9')
    assert first_break(lines) == ChainBreak(3, "does not carry the sha256 of the line before it")


def test_a_removed_line_and_a_plain_line_in_the_chain_are_found():
    lines = build({"n": 1}, {"n": 2}, {"n": 3})
    assert first_break([lines[0], lines[2]]) == ChainBreak(
        2, "does not carry the sha256 of the line before it"
    )
    assert first_break([*lines, "hand-written"]) == ChainBreak(4, "is not a chained JSON line")


def test_an_entry_may_not_set_the_previous_hash_itself():
    with pytest.raises(ValueError, match="prev"):
        chained({"prev": "x"}, GENESIS)


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
    assert log.first_break() == ChainBreak(2, "does not carry the sha256 of the line before it")
