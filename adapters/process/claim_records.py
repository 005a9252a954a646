"""Claim files read back, and the clocks and processes a sweep judges them by.

The helpers of `leftovers.py`: one claim file as read back (`ClaimRecord`), the age of a file by
the file system's clock, and the identity and killing of a child a dead job left running.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from adapters.process.identity import (
    ProcessIdentity,
    ProcessState,
    current_identity,
    start_ticks,
    state_of,
)

UNCLAIMED_MAX_AGE_SECONDS = 24 * 3600
"""An unclaimed leftover (or a torn claim) this old was left by a killed job."""


def identity_of(pid: int) -> ProcessIdentity | None:
    """Return the identity of a process of this host, or None when it has ended."""
    ticks = start_ticks(pid)
    if ticks is None:
        return None
    me = current_identity()
    return ProcessIdentity(me.host, me.boot, pid, ticks)


def kill_if_running(child: ProcessIdentity) -> None:
    """Kill a child that still runs (never a process that has reused its pid)."""
    if state_of(child) is ProcessState.RUNNING:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signal.SIGKILL)


@dataclass(frozen=True, slots=True)
class ClaimRecord:
    """A claim file as read back."""

    file: Path
    owner: ProcessIdentity | None
    recorded: float
    kind: str
    path: Path
    process: ProcessIdentity | None


def read_claim(file: Path, now: float) -> ClaimRecord | None:
    """Read a claim file; None when it is gone or unreadable (one cut short is removed once old)."""
    try:
        data = json.loads(file.read_text())
        return ClaimRecord(
            file=file,
            owner=ProcessIdentity.from_json(data["owner"]),
            recorded=float(data["recorded"]),
            kind=str(data["kind"]),
            path=Path(str(data["path"])),
            process=ProcessIdentity.from_json(data.get("process")),
        )
    except FileNotFoundError:
        return None  # released meanwhile
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        # Cut short by a kill while it was written: the thing was not made yet.
        if age(file, now) > UNCLAIMED_MAX_AGE_SECONDS:
            file.unlink(missing_ok=True)
        return None


def age(path: Path, now: float) -> float:
    """Return how old `path` is at `now` (by the file system's clock); 0 when it is gone."""
    try:
        return now - path.lstat().st_mtime
    except OSError:
        return 0.0


def filesystem_now(directory: Path) -> float:
    """Return the time by the clock that stamps files in `directory`.

    Ages of files are measured against it, not the process's clock, which may differ (under
    faketime a job's clock is years ahead of the stamps the kernel writes).
    """
    probe = directory / f".clock-{secrets.token_hex(6)}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except OSError:
        return time.time()
    try:
        return os.fstat(fd).st_mtime
    finally:
        os.close(fd)
        probe.unlink(missing_ok=True)
