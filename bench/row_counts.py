"""Figure j: what counting every table's rows in the dump's snapshot costs a backup.

The backup job runs as the scheduler runs it over the >= 1 GiB database, once with row counting
(the default, `[backup] count_rows = true`: a REPEATABLE READ transaction exports its snapshot to
pg_dump and counts every table in it while pg_dump streams) and once without (`count_rows =
false`: no snapshot export, no counting; the TOC tap still runs in both). Then the same two over
the database of 10,000 small tables, where counting is 200 tables to a query. Runs alternate
without, with, without, with ...; the figure is best of each (wall time), with the least CPU of
the job and its children (the server's own work for the count is not in it: it shows in the wall
time on this 2-CPU machine). The baseline is the job without counting.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from bench.figure import parser, run_figure, table
from bench.lab import BIG, MANY, Lab, Timing
from bench.results import mib, seconds

FIGURE = "row-counts"


def best(timings: list[Timing]) -> Timing:
    """Return the timing with the least wall time."""
    return min(timings, key=lambda timing: timing.wall)


def compare(lab: Lab, database: str, repeat: int) -> tuple[list[Timing], list[Timing]]:
    """Time the job over `database` without and with counting, alternating."""
    without = lab.site(f"{FIGURE}-without", {"worker_pool_size": 1, "count_rows": False})
    counted = lab.site(f"{FIGURE}-with", {"worker_pool_size": 1, "count_rows": True})
    plain: list[Timing] = []
    counting: list[Timing] = []
    for round_number in range(1, repeat + 1):
        plain.append(lab.run_job(without, [database]).timing)
        counting.append(lab.run_job(counted, [database]).timing)
        print(
            f"  {database} round {round_number}: without {plain[-1]}, with {counting[-1]}",
            flush=True,
        )
    return plain, counting


def rows_for(name: str, describe: str, plain: list[Timing], counting: list[Timing]) -> list[str]:
    """Return the table rows and the ratio line of one database."""
    base = best(plain).wall
    return [
        f"| {name}: {describe} | without counting (baseline) | {seconds(base)} | "
        f"{', '.join(seconds(t.wall) for t in plain)} | {seconds(min(t.cpu for t in plain))} "
        "| 1.00 |",
        f"| {name}: {describe} | with row counts | {seconds(best(counting).wall)} | "
        f"{', '.join(seconds(t.wall) for t in counting)} | "
        f"{seconds(min(t.cpu for t in counting))} | {best(counting).wall / base:.3f} |",
    ]


def measure(lab: Lab, args: argparse.Namespace) -> list[str]:
    """Measure the job with and without counting over the big and the many-table database."""
    size = lab.database(BIG)
    lab.database(MANY)
    big = compare(lab, BIG.name, args.repeat)
    many = compare(lab, MANY.name, args.repeat)
    big_ratio = best(big[1]).wall / best(big[0]).wall
    many_ratio = best(many[1]).wall / best(many[0]).wall
    header = ["database", "backup job", f"best of {args.repeat} (s)", "all runs (s)"]
    lines = table([*header, "least CPU (s)", "ratio to without"], [])
    return [
        "## j. Row counts in the manifest: the backup with and without counting",
        f"`{BIG.name}` ({BIG.describe()}, pg_database_size {mib(size)}) and `{MANY.name}`",
        f"({MANY.describe()}). The job runs as the scheduler runs it, `worker_pool_size = 1`, the",
        "database and its globals; `[backup] count_rows` is the only difference. Counting is a",
        "`count(*)` of every table in the exported snapshot, beside pg_dump, on the same server:",
        "one more sequential scan of every table (from the cache here: the server has the",
        "memory), 200 tables to a query.",
        "",
        *lines,
        *rows_for(BIG.name, "1 GiB", *big),
        *rows_for(MANY.name, "10,000 tables", *many),
        "",
        f"**Ratio with / without counting (wall, best of each): {big_ratio:.3f} for 1 GiB in 4",
        f"tables, {many_ratio:.3f} for 10,000 small tables.**",
    ]


def main(argv: Sequence[str], lab: Lab | None = None) -> int:
    """Run figure j; write its section of RESULTS.md unless `--no-write`."""
    options = parser(FIGURE, __doc__)
    options.add_argument("--repeat", type=int, default=3, help="rounds of each (default 3)")
    return run_figure(FIGURE, argv, options, measure, lab)
