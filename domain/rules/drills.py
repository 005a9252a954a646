"""Restore drills: what one drill records, and what the log of drills says of each run (SPEC 13).

Each drill of one database is one JSON line of `drills.jsonl` at the share root (a hash-chained
audit log, domain.services.audit_log). Lines of one job share its `drill` id (the job's start
time); a run is *proven restorable* by a drill when every database that drill restored passed.
Pure functions: building a line, and reading the log back (lines that are not drill entries,
such as a chain marker, are skipped; a damaged line never hides the others).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

DRILLS_FILE = "drills.jsonl"


class DrillResult(StrEnum):
    """How one database's drill ended."""

    OK = "ok"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class DrillEntry:
    """One database's drill, as its line in `drills.jsonl` holds it."""

    drill: datetime
    client: str
    run: str
    tier: str
    period: str
    database: str
    result: DrillResult
    tables_compared: int
    mismatches: int
    counts_recorded: bool
    started: datetime
    finished: datetime
    target: str
    scratch_database: str
    versions: Mapping[str, str] = field(default_factory=dict)
    problems: Sequence[str] = ()

    def to_log(self) -> dict[str, object]:
        """Return the entry as the JSON object appended to the log."""
        return {
            "drill": self.drill.isoformat(),
            "client": self.client,
            "run": self.run,
            "tier": self.tier,
            "period": self.period,
            "database": self.database,
            "result": str(self.result),
            "tables_compared": self.tables_compared,
            "mismatches": self.mismatches,
            "counts_recorded": self.counts_recorded,
            "started": self.started.isoformat(),
            "finished": self.finished.isoformat(),
            "duration_seconds": round((self.finished - self.started).total_seconds(), 3),
            "target": self.target,
            "scratch_database": self.scratch_database,
            **{f"{name}_version": version for name, version in self.versions.items()},
            "problems": list(self.problems),
        }


@dataclass(frozen=True, slots=True)
class RunDrills:
    """What the drills of one run say: the last drill and the last that proved it restorable."""

    last_drill: datetime | None = None
    last_result: DrillResult | None = None
    last_proven: datetime | None = None


def drills_by_run(lines: Sequence[str]) -> dict[str, RunDrills]:
    """Return, per run id, its last drill (and result) and its last passing drill."""
    results: dict[tuple[str, datetime], list[bool]] = defaultdict(list)
    for line in lines:
        entry = _entry(line)
        if entry is not None:
            run, drill, ok = entry
            results[(run, drill)].append(ok)
    by_run: dict[str, RunDrills] = {}
    for (run, drill), oks in sorted(results.items(), key=lambda item: item[0][1]):
        previous = by_run.get(run, RunDrills())
        passed = all(oks)
        by_run[run] = RunDrills(
            last_drill=drill,
            last_result=DrillResult.OK if passed else DrillResult.FAILED,
            last_proven=drill if passed else previous.last_proven,
        )
    return by_run


def undrilled_problem(
    run: str, made: datetime, drills: RunDrills | None, now: datetime, max_age: timedelta
) -> str | None:
    """Return why the newest complete run `run` is a problem for `check`, or None.

    A run must be proven restorable by a passing drill within `max_age` of being made
    (`[check] drill_max_age_days`); younger runs have time left.
    """
    if drills is not None and drills.last_proven is not None:
        return None
    if now - made <= max_age:
        return None
    tried = (
        f"its last drill, on {drills.last_drill.date().isoformat()}, failed"
        if drills is not None and drills.last_drill is not None
        else "it has never been drilled"
    )
    days = max_age.days
    return (
        f"the newest complete run {run} (made {made.date().isoformat()}) is not proven "
        f"restorable: {tried}, and [check] drill_max_age_days = {days} allows {days} days; "
        "run the drill job"
    )


def _entry(line: str) -> tuple[str, datetime, bool] | None:
    try:
        value: Any = json.loads(line)
        run, result = value["run"], value["result"]
        drill = datetime.fromisoformat(value["drill"])
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(run, str) or result not in tuple(DrillResult):
        return None
    return run, drill, result == DrillResult.OK
