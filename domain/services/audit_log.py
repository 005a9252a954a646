"""Append to, and check, the hash-chained audit logs the jobs keep on the share (SPEC 14).

`retention.log`, `archive/<folder>/ARCHIVE.jsonl`, `drills.jsonl`, `rekey.jsonl` and `holds.log`
are such logs (see `domain.rules.audit_chain` for the format). Appends from the threads of one
job are serialised per log, so parallel deletions never fork the chain. Runs of different jobs
that may append to the same log at once hold the client's lock or the share's lock marker.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from fnmatch import fnmatchcase
from pathlib import PurePosixPath

from domain.rules.audit_chain import ChainBreak, first_break, next_entries
from domain.rules.audit_logs import AUDIT_LOGS, is_audit_log
from ports.file_share import FileShare

MAX_LOG_BYTES = 256 * 1024 * 1024
"""An audit log grows by a few lines a month; a larger file is not read into memory."""

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


class AuditLog:
    """One chained JSON-lines log on a client's share."""

    def __init__(self, share: FileShare, path: PurePosixPath) -> None:
        self._share = share
        self._path = path

    @property
    def path(self) -> PurePosixPath:
        """Return the log's path on the share."""
        return self._path

    def append(self, entry: Mapping[str, object]) -> None:
        """Append `entry` as the next chained line (after a marker, if the log is old-format).

        Raises:
            ShareUnavailableError: the log cannot be read or written.
        """
        with _lock_for(self._path):
            for line in next_entries(self.lines(), entry):
                self._share.append_line(self._path, line)

    def lines(self) -> list[str]:
        """Return the log's lines (none when it does not exist yet)."""
        if not self._share.exists(self._path):
            return []
        data = bytearray()
        for chunk in self._share.read_stream(self._path):
            data.extend(chunk)
            if len(data) > MAX_LOG_BYTES:
                raise ValueError(f"{self._path} is larger than {MAX_LOG_BYTES} bytes")
        return data.decode("utf-8", errors="replace").splitlines()

    def first_break(self) -> ChainBreak | None:
        """Return where the chain breaks, or None when the log is intact (or absent)."""
        return first_break(self.lines())


def find_audit_logs(share: FileShare) -> list[PurePosixPath]:
    """Return every audit log on the share (`domain.rules.audit_logs`), sorted; no symlinks."""
    found: set[PurePosixPath] = set()
    # Only the directories the patterns name are listed: the tiers are never walked.
    folders = {PurePosixPath(pattern).parent for pattern in AUDIT_LOGS}
    for folder in sorted(folders):
        for directory in _directories(share, PurePosixPath(), folder.parts):
            for entry in share.list_dir(directory):
                path = directory / entry.name
                if not entry.is_dir and not entry.is_symlink and is_audit_log(path):
                    found.add(path)
    return sorted(found)


def _directories(
    share: FileShare, base: PurePosixPath, parts: tuple[str, ...]
) -> list[PurePosixPath]:
    if not parts or parts == (".",):
        return [base]
    head, rest = parts[0], parts[1:]
    return [
        directory
        for entry in share.list_dir(base)
        if entry.is_dir and not entry.is_symlink and fnmatchcase(entry.name, head)
        for directory in _directories(share, base / entry.name, rest)
    ]


def _lock_for(path: PurePosixPath) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(str(path), threading.Lock())
