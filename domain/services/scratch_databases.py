"""Scratch databases that name the job that made them, so a killed drill's is dropped later.

A drill restores plaintext into scratch databases (`lts_drill_<start>_<n>`) on the operator's
target server and always drops them (SPEC 13); a drill killed with SIGKILL (or a host that
crashed) cannot. So each scratch database carries, as its comment, the job's process (host, pid,
start token: the HostProcesses port) and when it started. Every later drill lists the scratch
databases on its target and drops those whose job is gone from this host (SPEC 15: nothing a
killed job made outlives it); another host's, a live job's, or one without a readable note is
never touched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from ports.host_processes import HostProcesses, Liveness, ProcessOwner
from ports.restorer import ScratchDatabase

NOTE_PREFIX = "lts drill scratch database, dropped by the next drill once its job is gone: "
"""The comment's human-readable start; the job's process follows as JSON."""


@dataclass(frozen=True, slots=True)
class ScratchOwner:
    """The job a scratch database's comment names, and when it started."""

    process: ProcessOwner
    since: datetime


def scratch_note(process: ProcessOwner, since: datetime) -> str:
    """Return the comment a scratch database of the job `process` carries."""
    return NOTE_PREFIX + json.dumps({**process.to_json(), "since": since.isoformat()})


def scratch_owner(note: str | None) -> ScratchOwner | None:
    """Return the job a scratch database's comment names, or None for any other comment."""
    if note is None or not note.startswith(NOTE_PREFIX):
        return None
    try:
        data = json.loads(note.removeprefix(NOTE_PREFIX))
        since = datetime.fromisoformat(str(data["since"]))
    except (ValueError, KeyError, TypeError):
        return None
    process = ProcessOwner.from_json(data)
    if process is None or since.tzinfo is None:
        return None
    return ScratchOwner(process, since)


def left_by_dead_jobs(
    found: tuple[ScratchDatabase, ...], processes: HostProcesses
) -> list[tuple[ScratchDatabase, ScratchOwner]]:
    """Return the scratch databases in `found` whose job is gone from this host."""
    dead = []
    for scratch in found:
        owner = scratch_owner(scratch.note)
        if owner is not None and processes.liveness(owner.process, owner.since) is Liveness.GONE:
            dead.append((scratch, owner))
    return dead
