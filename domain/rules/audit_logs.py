"""Which files on a share are hash-chained audit logs: the one registry `verify --logs` reads.

Every append-only log a job keeps on a client's share is a chained JSON-lines file written
through `domain.services.audit_log.AuditLog` (SPEC 14). `verify --logs` checks every file that
matches one of `AUDIT_LOGS`: share paths whose parts are `fnmatch` patterns, one directory level
per part (`archive/*/ARCHIVE.jsonl` is every archive folder's list). The two catch-all patterns
find any `*.jsonl` or `*.log` at the share root, so a job that adds a log there is checked
without a change here; a job that keeps a log deeper adds its pattern to this tuple.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import PurePosixPath

AUDIT_LOGS: tuple[str, ...] = (
    "retention.log",  # retention: every deleted run
    "rekey.jsonl",  # rekey: every re-encrypted run
    "drills.jsonl",  # drill: every restore drill
    "holds.log",  # hold and release: every legal hold
    "archive/*/ARCHIVE.jsonl",  # archive: every archived file, per folder
    "*.jsonl",  # any other log at the share root
    "*.log",
)


def matches(path: PurePosixPath, pattern: str) -> bool:
    """Tell whether the share path `path` matches `pattern`, part for part."""
    parts = PurePosixPath(pattern).parts
    return len(parts) == len(path.parts) and all(
        fnmatchcase(name, part) for name, part in zip(path.parts, parts, strict=True)
    )


def is_audit_log(path: PurePosixPath) -> bool:
    """Tell whether `path` is one of the registered audit logs."""
    return any(matches(path, pattern) for pattern in AUDIT_LOGS)
