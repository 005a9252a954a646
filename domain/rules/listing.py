"""What the list job shows of each run: one row, as a table or JSON (SPEC section 5, `list`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TypedDict

from domain.models.hold import Hold
from domain.models.manifest import DumpStatus, ManifestDigest
from domain.models.run import StoredRun
from domain.rules.drills import DrillResult, RunDrills


@dataclass(frozen=True, slots=True)
class RunRow:
    """One line of the listing."""

    tier: str
    period: str
    run_id: str
    status: str
    databases_ok: int
    databases_failed: int
    bytes: int
    held: bool
    expires: str
    hold_reason: str = ""
    """Why the run is held (a hand-placed HOLD file may not say)."""
    held_since: str = ""
    held_by: str = ""

    last_drill: str | None = None
    """When the run was last drilled (ISO time), whatever the outcome."""
    last_drill_result: str | None = None
    last_proven: str | None = None
    """When a drill last proved the run restorable: every drilled database restored and matched."""

    @property
    def proven(self) -> str:
        """Return the PROVEN cell: the date of the last passing drill, and a later failure."""
        shown = self.last_proven[:10] if self.last_proven else "-"
        if self.last_drill_result == DrillResult.FAILED and self.last_drill:
            shown += f" (drill of {self.last_drill[:10]} failed)"
        return shown


class RunProof(TypedDict):
    """What drills say of a run: when it was last drilled, how that went, when last proven."""

    last_drill: str | None
    last_drill_result: str | None
    last_proven: str | None


def describe_run(
    run: StoredRun,
    manifest: ManifestDigest | None,
    hold: Hold | None,
    days: int,
    drills: RunDrills | None = None,
) -> RunRow:
    """Return the listing row of a run (manifest None when missing or unreadable)."""
    row = _row(run, manifest, hold is not None, days, drills)
    if hold is None:
        return row
    return replace(
        row,
        hold_reason=hold.shown_reason,
        held_since=hold.since.isoformat() if hold.since else "",
        held_by=hold.who,
    )


def _row(
    run: StoredRun,
    manifest: ManifestDigest | None,
    held: bool,
    days: int,
    drills: RunDrills | None,
) -> RunRow:
    expires = (run.run_id.started + timedelta(days=days)).date().isoformat()
    drilled = drills or RunDrills()
    proof = RunProof(
        last_drill=drilled.last_drill.isoformat() if drilled.last_drill else None,
        last_drill_result=str(drilled.last_result) if drilled.last_result else None,
        last_proven=drilled.last_proven.isoformat() if drilled.last_proven else None,
    )
    if run.partial:
        return RunRow(run.tier, run.period, str(run.run_id), "partial", 0, 0, 0, held, "-")
    if manifest is None:
        return RunRow(
            run.tier, run.period, str(run.run_id), "unreadable", 0, 0, 0, held, expires, **proof
        )
    ok = sum(1 for r in manifest.databases if r.status is DumpStatus.OK)
    size = manifest.total_bytes
    status = "complete" if manifest.complete else "incomplete"
    return RunRow(
        run.tier,
        run.period,
        str(run.run_id),
        status,
        ok,
        len(manifest.databases) - ok,
        size,
        held,
        expires,
        **proof,
    )


def render_table(rows: list[RunRow], now: datetime) -> str:
    """Return the rows as an aligned text table."""
    header = (
        "TIER",
        "PERIOD",
        "RUN",
        "STATUS",
        "DB OK",
        "DB FAILED",
        "BYTES",
        "HOLD",
        "EXPIRES",
        "PROVEN RESTORABLE",
    )
    lines = [header]
    for row in rows:
        expired = row.expires != "-" and row.expires < now.date().isoformat()
        lines.append(
            (
                row.tier,
                row.period,
                row.run_id,
                row.status,
                str(row.databases_ok),
                str(row.databases_failed),
                f"{row.bytes:,}",
                _hold_cell(row, now) if row.held else "",
                f"{row.expires} (past)" if expired else row.expires,
                row.proven,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


MAX_SHOWN_REASON = 40


def _hold_cell(row: RunRow, now: datetime) -> str:
    """Return `held <age>: <reason>`, the reason cut to fit a table (--json has it whole)."""
    age = ""
    if row.held_since:
        days = max((now - datetime.fromisoformat(row.held_since)).days, 0)
        age = f" {days}d"
    reason = row.hold_reason
    if len(reason) > MAX_SHOWN_REASON:
        reason = reason[: MAX_SHOWN_REASON - 3] + "..."
    return f"held{age}: {reason}"
