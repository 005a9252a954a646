"""Time `plan_retention` over 100,000 runs against the floor of sorting their run ids.

Run from the repository root: `.venv/bin/python -m bench retention`. It builds a synthetic share
history in memory (deterministic, seeded), times the planner (best of 5) and the baseline (best of
5, same inputs, same process), prints both and the ratio, and rewrites this figure's section of
bench/RESULTS.md.

The baseline is `sorted(runs, key=run id time)` over the same shuffled runs: ordering the runs by
RUN_ID is the one step no planner can avoid, so the ratio says how much the rules cost on top.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from domain.models.manifest import DumpStatus
from domain.models.retention import RetentionPlan, RetentionPolicy, RunFacts
from domain.models.run import RunId, Tier
from domain.rules.retention import plan_retention

FIGURE = "retention-planning"
HEADER = """# Benchmark results

Each section is written by its benchmark (`python -m bench <figure>`, see bench/__main__.py) and
rewritten in place on every run; the rest of this file is left as it is.
"""
RESULTS = Path(__file__).with_name("RESULTS.md")
START = datetime(1990, 1, 1, tzinfo=UTC)
STEP = timedelta(hours=3)  # 100,000 runs span about 34 years
DATABASES = [f"db{n:02d}" for n in range(20)]
POLICY = RetentionPolicy(end_of_month_days=400, end_of_year_days=3650, minimum_keep=1)


def build_runs(count: int, seed: int = 20260615) -> tuple[list[RunFacts], datetime]:
    """Return `count` shuffled runs of both tiers and a `now` one day after the last of them.

    Each run lists 6 of 20 databases; 3% of dumps failed, `db19` fails in the newest tenth of the
    history (so older copies are pinned as last good copies), 0.1% of manifests are unreadable,
    0.1% of runs are held and 0.5% are `.partial` debris.
    """
    rng = random.Random(seed)
    runs: list[RunFacts] = []
    for index in range(count):
        started = START + index * STEP + timedelta(minutes=rng.randrange(60))
        tier = Tier.END_OF_YEAR if started.month == 12 else Tier.END_OF_MONTH
        period = f"FY{started.year}" if tier is Tier.END_OF_YEAR else started.strftime("%Y-%m")
        names = [*rng.sample(DATABASES[:-1], 5), "db19"]
        failing_tail = index > count * 9 // 10
        databases: dict[str, DumpStatus] | None = {
            name: DumpStatus.FAILED
            if rng.random() < 0.03 or (name == "db19" and failing_tail)
            else DumpStatus.OK
            for name in names
        }
        if rng.random() < 0.001:
            databases = None
        runs.append(
            RunFacts(
                tier,
                period,
                RunId.at(started),
                databases,
                held=rng.random() < 0.001,
                partial=rng.random() < 0.005,
            )
        )
    rng.shuffle(runs)
    return runs, started + timedelta(days=1)


def best_of(repeat: int, action: Callable[[], object]) -> float:
    """Return the fastest of `repeat` timed calls of `action`, in seconds."""
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        times.append(time.perf_counter() - began)
    return min(times)


def machine() -> str:
    """Describe the machine: CPUs usable (as nproc counts them), CPU model, Python."""
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        model = found.group(1).strip() if found else model
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    python = f"{platform.python_implementation()} {platform.python_version()}"
    return f"nproc {nproc}, CPU {model}, {python} ({platform.system()} {platform.machine()})"


def command(argv: Sequence[str]) -> str:
    """Return the command line that reproduces this measurement, from the repository root."""
    python = Path(sys.executable)
    try:
        shown = str(python.relative_to(Path.cwd()))
    except ValueError:
        shown = str(python)
    return " ".join([shown, "-m", "bench", "retention", *argv])


def section(lines: list[str]) -> str:
    """Return this figure's RESULTS.md section between its markers."""
    body = "\n".join(lines)
    return f"<!-- {FIGURE}:start -->\n{body}\n<!-- {FIGURE}:end -->"


def write_results(text: str) -> None:
    """Replace this figure's section of RESULTS.md, or append it, keeping every other section."""
    current = RESULTS.read_text() if RESULTS.exists() else HEADER
    pattern = re.compile(rf"<!-- {FIGURE}:start -->.*?<!-- {FIGURE}:end -->", re.DOTALL)
    if pattern.search(current):
        updated = pattern.sub(lambda _: text, current)
    else:
        updated = current.rstrip("\n") + "\n\n" + text + "\n"
    RESULTS.write_text(updated)


def summary(plan: RetentionPlan) -> str:
    """Return the sizes of a plan, to show the benchmark exercised every rule."""
    partial = sum(1 for deletion in plan.deletions if deletion.run.partial)
    return (
        f"{len(plan.deletions)} deletions ({partial} partial debris), "
        f"{len(plan.kept)} kept by a rail, {len(plan.alerts)} alert(s)"
    )


def main(argv: list[str]) -> int:
    """Run the figure; write RESULTS.md unless `--no-write`."""
    parser = argparse.ArgumentParser(prog="python -m bench retention", description=__doc__)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)

    runs, now = build_runs(args.runs)
    baseline = best_of(args.repeat, lambda: sorted(runs, key=lambda run: run.run_id.started))
    planning = best_of(args.repeat, lambda: plan_retention(runs, POLICY, now))
    plan = plan_retention(runs, POLICY, now)
    ratio = planning / baseline

    lines = [
        "## Retention planning (`plan_retention`, SPEC section 8)",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on: {machine()}.",
        "",
        f"Command (from the repository root): `{command(argv)}`",
        "",
        f"Input: {args.runs:,} shuffled runs of both tiers, 6 databases each, 3% failed dumps,",
        "one database failing for the newest tenth, 0.1% unreadable manifests, 0.1% held,",
        "0.5% `.partial` debris; policy 400 / 3650 days, minimum_keep 1.",
        f"Plan: {summary(plan)}.",
        "",
        f"| measure (best of {args.repeat}) | seconds |",
        "|---|---|",
        f"| baseline: sort the runs by RUN_ID time | {baseline:.4f} |",
        f"| `plan_retention` | {planning:.4f} |",
        f"| ratio planner / baseline | {ratio:.1f}x |",
    ]
    for line in lines:
        print(line)
    if not args.no_write:
        write_results(section(lines))
        print(f"\nwrote {RESULTS}")
    return 0
