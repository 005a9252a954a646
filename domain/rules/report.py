"""Judge one client for the fleet report: its months, sizes, failures, keys, holds (SPEC 16).

Pure. Months follow the check job's freshness rules (`domain.rules.freshness`): a month is
*missing* when it is required (after the first run, passed, within retention) and has no run,
*partial* when its runs are all incomplete or unfinished, *open* while it is the current period
month without a complete run, *none* when nothing is expected of it. A client has a problem
when a required month has no complete run, its newest run is incomplete, retention keeps a run
past its retention (last good copy), retention days are not sane, a key expires within the
warning time (or cannot be read), or the last drill of a run failed.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from domain.models.hold import Hold
from domain.models.manifest import DumpStatus
from domain.models.report import (
    Cell,
    CellStatus,
    ClientRow,
    ClientSurvey,
    DrillRecord,
    HoldRow,
    KeyRow,
    ReportPolicy,
    SizePoint,
    SizeSeries,
    SurveyedRun,
)
from domain.rules.freshness import FreshnessPolicy, Month, covered_month, required_months
from domain.rules.tiering import period_month

MAX_FAILURES = 10
"""The report lists the newest failures of a client; the share keeps them all."""


def report_periods(now: datetime, policy: ReportPolicy) -> list[Month]:
    """Return the months of the freshness matrix, oldest first, ending with the current one."""
    current = Month(*period_month(now, policy.timezone, policy.period_offset_months))
    return [Month.of_index(current.index - back) for back in range(policy.periods - 1, -1, -1)]


def unreachable_row(name: str, eoy_month: int, error: str) -> ClientRow:
    """Return the row of a client whose share could not be read, saying why."""
    return ClientRow(
        name=name, eoy_month=eoy_month, reachable=False, error=error, problems=(error,)
    )


def client_row(
    name: str, eoy_month: int, survey: ClientSurvey, now: datetime, policy: ReportPolicy
) -> ClientRow:
    """Return the report row of a client from what its share holds."""
    published = [run for run in survey.runs if not run.run.partial]
    newest_eoy = next(
        (run.eoy_month for run in sorted(published, key=_started, reverse=True) if run.eoy_month),
        eoy_month,
    )
    by_month: dict[Month, list[SurveyedRun]] = defaultdict(list)
    for run in survey.runs:
        month = covered_month(run.run.tier, run.run.period, run.eoy_month or newest_eoy)
        if month is not None and run.run.run_id.started <= now:
            by_month[month].append(run)
    required = _required(by_month, published, survey, now, policy, newest_eoy)
    drills = _last_drills(survey.drills)
    cells = tuple(
        _cell(month, by_month.get(month, []), required, drills, now, policy)
        for month in report_periods(now, policy)
    )
    keys = tuple(
        _key_row(key.key, key.fingerprint, key.expires, now, policy) for key in survey.keys
    )
    problems = [
        *survey.problems,
        *_freshness_problems(by_month, required),
        *_newest_run_problem(published),
        *([survey.retention_problem] if survey.retention_problem else []),
        *survey.retention_alerts,
        *(_key_problem(key) for key in keys if key.expiring),
        *_drill_problems(drills),
    ]
    notes = []
    if not published:
        notes.append("no published run on the share yet")
    if newest_eoy != eoy_month:
        notes.append(
            f"the fleet file says eoy_month {eoy_month}, the newest run was taken with {newest_eoy}"
        )
    complete = [run for run in published if run.complete]
    return ClientRow(
        name=name,
        eoy_month=eoy_month,
        reachable=True,
        problems=tuple(problems),
        notes=tuple(notes),
        cells=cells,
        sizes=_sizes(published),
        failures=_failures(published, survey.retention_alerts, drills),
        keys=keys,
        holds=tuple(
            _hold_row(str(run.run.path), run.hold, now)
            for run in survey.runs
            if run.hold is not None
        ),
        runs=len(published),
        stored_bytes=sum(db.bytes for run in published for db in run.databases),
        last_complete=str(max(complete, key=_started).run.path) if complete else "",
    )


def _started(run: SurveyedRun) -> datetime:
    return run.run.run_id.started


def _required(
    by_month: dict[Month, list[SurveyedRun]],
    published: list[SurveyedRun],
    survey: ClientSurvey,
    now: datetime,
    policy: ReportPolicy,
    eoy_month: int,
) -> set[Month]:
    months_with_runs = [m for m, runs in by_month.items() if any(not r.run.partial for r in runs)]
    if not published or not months_with_runs or survey.retention_problem:
        return set()
    freshness = FreshnessPolicy(
        eoy_month=eoy_month,
        end_of_month_days=survey.end_of_month_days,
        end_of_year_days=survey.end_of_year_days,
        timezone=policy.timezone,
        period_offset_months=policy.period_offset_months,
    )
    return set(required_months(min(months_with_runs), now, freshness))


def _cell(
    month: Month,
    runs: list[SurveyedRun],
    required: set[Month],
    drills: dict[str, DrillRecord],
    now: datetime,
    policy: ReportPolicy,
) -> Cell:
    current = Month(*period_month(now, policy.timezone, policy.period_offset_months))
    if any(run.complete for run in runs):
        status = CellStatus.COMPLETE
    elif runs:
        status = CellStatus.PARTIAL
    elif month == current:
        status = CellStatus.OPEN
    elif month in required:
        status = CellStatus.MISSING
    else:
        status = CellStatus.NONE
    results = [drills[str(run.run.run_id)].ok for run in runs if str(run.run.run_id) in drills]
    drilled = "ok" if any(results) else "failed" if results else ""
    return Cell(
        period=str(month),
        status=status,
        held=any(run.hold is not None for run in runs),
        drilled=drilled,
        runs=tuple(str(run.run.path) for run in runs),
    )


def _freshness_problems(
    by_month: dict[Month, list[SurveyedRun]], required: set[Month]
) -> list[str]:
    lacking = [
        f"{month} ({'incomplete' if by_month.get(month) else 'no run'})"
        for month in sorted(required)
        if not any(run.complete for run in by_month.get(month, []))
    ]
    return [f"no complete run for {', '.join(lacking)}"] if lacking else []


def _newest_run_problem(published: list[SurveyedRun]) -> list[str]:
    if not published:
        return []
    newest = max(published, key=_started)
    if newest.complete:
        return []
    if not newest.readable:
        return [f"the newest run {newest.run.path} has no readable manifest"]
    failed = ", ".join(db.name for db in newest.databases if db.status is not DumpStatus.OK)
    return [f"the newest run {newest.run.path} has failed databases: {failed}"]


def _last_drills(drills: tuple[DrillRecord, ...]) -> dict[str, DrillRecord]:
    last: dict[str, DrillRecord] = {}
    for drill in drills:  # in log order: a later line is a later drill
        last[drill.run_id] = drill
    return last


def _drill_problems(drills: dict[str, DrillRecord]) -> list[str]:
    return [
        f"the last drill of run {run_id} failed{': ' + d.detail if d.detail else ''}"
        for run_id, d in sorted(drills.items())
        if d.ok is False
    ]


def _key_row(
    key: str, fingerprint: str, expires: datetime | None, now: datetime, policy: ReportPolicy
) -> KeyRow:
    if expires is None:
        return KeyRow(key, fingerprint, None, None, expiring=False)
    return KeyRow(
        key,
        fingerprint,
        expires.isoformat(),
        (expires - now).days,
        expiring=expires <= now + policy.key_warning,
    )


def _key_problem(key: KeyRow) -> str:
    when = (key.expires or "")[:10]
    if key.days_left is not None and key.days_left < 0:
        return f"the {key.key} key {key.fingerprint} expired on {when}"
    return f"the {key.key} key {key.fingerprint} expires on {when} (in {key.days_left} days)"


def _sizes(published: list[SurveyedRun]) -> tuple[SizeSeries, ...]:
    points: dict[str, list[SizePoint]] = defaultdict(list)
    for run in sorted(published, key=_started):
        for db in run.databases:
            if db.status is DumpStatus.OK:
                started = run.run.run_id.started
                points[db.name].append(
                    SizePoint(str(run.run.run_id), started.isoformat(), db.bytes)
                )
    return tuple(SizeSeries(name, tuple(points[name])) for name in sorted(points))


def _failures(
    published: list[SurveyedRun], alerts: tuple[str, ...], drills: dict[str, DrillRecord]
) -> tuple[str, ...]:
    found = [*alerts]
    for run in sorted(published, key=_started, reverse=True):
        if not run.readable:
            found.append(f"{run.run.path}: the manifest cannot be read")
        found += [
            f"{run.run.path}: {db.name} failed{': ' + db.error if db.error else ''}"
            for db in run.databases
            if db.status is not DumpStatus.OK
        ]
    found += [
        f"drill of run {run_id} failed{': ' + d.detail if d.detail else ''}"
        for run_id, d in sorted(drills.items(), reverse=True)
        if d.ok is False
    ]
    return tuple(found[:MAX_FAILURES])


def _hold_row(path: str, hold: Hold, now: datetime) -> HoldRow:
    return HoldRow(
        run=path,
        reason=hold.shown_reason,
        who=hold.who,
        since=hold.since.isoformat() if hold.since else None,
        age_days=hold.age_days(now),
    )
