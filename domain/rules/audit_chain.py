"""Hash-chained audit logs: JSON lines, each carrying the sha256 of the line before it (SPEC 14).

Pure functions: how a chained line is made, and where a chain breaks. A log that began in an
older, unchained format (plain text lines) keeps those lines as they are; the first chained line
is a marker that also carries the sha256 of everything before it, so the old lines are covered
by the chain from then on.

Each line also carries its own sha256 (`line_sha256`, over the line's canonical JSON without
that field), so a line edited in place is found at that very line, also the last line of a log,
which no later line covers. Lines written before this field existed are checked by the chain
alone; once a line carries it, every later line must.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

PREVIOUS = "prev"
"""The key holding the sha256 (hex) of the line before, or GENESIS on a log's first line."""
GENESIS = "0" * 64
MARKER = "chain"
"""The key of the marker line a chain starts with after old-format lines."""
MARKER_VALUE = "starts here; the lines above are in the old format"
LEGACY_SHA256 = "legacy_sha256"
"""On the marker: the sha256 of every old-format line above it, newlines included."""
LINE_SHA256 = "line_sha256"
"""The sha256 (hex) of the line's own canonical JSON without this field."""


def line_hash(line: str) -> str:
    """Return the sha256 (hex) of one line's text, without its newline."""
    return hashlib.sha256(line.encode("utf-8")).hexdigest()


def chained(entry: Mapping[str, object], previous: str) -> str:
    """Return `entry` as one JSON line that carries `previous`, the sha256 of the line before.

    The line also carries its own sha256 (`line_sha256`).
    """
    for key in (PREVIOUS, LINE_SHA256):
        if key in entry:
            raise ValueError(f"an audit entry must not set {key!r} itself")
    body = {**entry, PREVIOUS: previous}
    return _canonical({**body, LINE_SHA256: _own_hash(body)})


def is_chained(line: str) -> bool:
    """Tell whether a line is a chained JSON line (a dict that carries `prev`)."""
    try:
        value = json.loads(line)
    except ValueError:
        return False
    return isinstance(value, dict) and isinstance(value.get(PREVIOUS), str)


def marker(legacy: Sequence[str]) -> dict[str, object]:
    """Return the entry that starts a chain after the old-format lines `legacy`."""
    return {MARKER: MARKER_VALUE, "legacy_lines": len(legacy), LEGACY_SHA256: _legacy(legacy)}


def next_entries(lines: Sequence[str], entry: Mapping[str, object]) -> list[str]:
    """Return the lines to append after `lines` to record `entry` (a marker first if needed)."""
    if not lines:
        return [chained(entry, GENESIS)]
    if any(is_chained(line) for line in lines):
        return [chained(entry, line_hash(lines[-1]))]
    start = chained(marker(lines), line_hash(lines[-1]))
    return [start, chained(entry, line_hash(start))]


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """Where a chain is broken: the 1-based line number and why."""

    line: int
    reason: str


def first_break(lines: Sequence[str]) -> ChainBreak | None:
    """Return the first line that breaks the chain, or None when the log is intact.

    Old-format lines before the first chained line are accepted as they are; from then on every
    line must be chained to the one before, and the marker must match the lines above it.
    """
    start = next((i for i, line in enumerate(lines) if is_chained(line)), None)
    if start is None:
        return None
    hashed = False
    for index in range(start, len(lines)):
        line = lines[index]
        if not is_chained(line):
            return ChainBreak(index + 1, "is not a chained JSON line")
        value = json.loads(line)
        if LINE_SHA256 in value or hashed:
            hashed = True
            own = value.pop(LINE_SHA256, None)
            if own != _own_hash(value):
                return ChainBreak(index + 1, "was changed after it was written (line_sha256)")
        expected = GENESIS if index == 0 else line_hash(lines[index - 1])
        if value[PREVIOUS] != expected:
            return ChainBreak(index + 1, "does not carry the sha256 of the line before it")
        legacy = index == start and index > 0
        if legacy and value.get(LEGACY_SHA256) != _legacy(lines[:start]):
            return ChainBreak(index + 1, "does not match the old-format lines above it")
    return None


def _canonical(value: Mapping[str, object]) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _own_hash(body: Mapping[str, object]) -> str:
    return hashlib.sha256(_canonical(body).encode("utf-8")).hexdigest()


def _legacy(lines: Sequence[str]) -> str:
    return hashlib.sha256("".join(f"{line}\n" for line in lines).encode("utf-8")).hexdigest()
