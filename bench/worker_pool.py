"""Figure c: `[backup] worker_pool_size` 1, 2 and 4 over 8 databases: total time and speed-up.

The job runs as the scheduler runs it over the same 8 databases (about 70 MiB each), once per
pool size, in the order 1, 2, 4, repeated `--repeat` times; the figure is best of each. The
baseline is `worker_pool_size = 1` in the same run.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from bench.figure import parser, run_figure, table
from bench.lab import POOL, Lab
from bench.results import mib, seconds

FIGURE = "worker-pool"
POOLS = (1, 2, 4)


def measure(lab: Lab, args: argparse.Namespace) -> list[str]:
    """Time the job over the 8 databases with each pool size."""
    sizes = [lab.database(spec) for spec in POOL]
    names = [spec.name for spec in POOL]
    times: dict[int, list[float]] = {pool: [] for pool in POOLS}
    cpus: dict[int, list[float]] = {pool: [] for pool in POOLS}
    for _ in range(args.repeat):
        for pool in POOLS:
            site = lab.site(f"{FIGURE}-{pool}", {"worker_pool_size": pool})
            timing = lab.run_job(site, names).timing
            times[pool].append(timing.wall)
            cpus[pool].append(timing.cpu)
            print(f"  pool {pool}: {timing}", flush=True)
    base = min(times[1])
    rows = [
        [
            str(pool) + (" (baseline)" if pool == 1 else ""),
            seconds(min(times[pool])),
            ", ".join(seconds(t) for t in times[pool]),
            seconds(min(cpus[pool])),
            f"{base / min(times[pool]):.2f}x",
        ]
        for pool in POOLS
    ]
    nproc = len(os.sched_getaffinity(0))
    return [
        "## c. `worker_pool_size` 1, 2, 4 over 8 databases",
        f"8 databases `{names[0]}` .. `{names[-1]}`, each {POOL[0].describe()}; pg_database_size",
        f"{mib(min(sizes))} to {mib(max(sizes))}, {mib(sum(sizes))} in all. Job as the scheduler",
        "runs it, default compression gzip:6; each database is one pg_dump (server backend too),",
        f"one gpg and the job's copy threads, so the {nproc} CPUs of this machine bound the",
        "speed-up.",
        "",
        *table(
            [
                "worker_pool_size",
                f"best of {args.repeat} (s)",
                "all runs (s)",
                "least CPU (s)",
                "speed-up vs 1",
            ],
            rows,
        ),
    ]


def main(argv: Sequence[str], lab: Lab | None = None) -> int:
    """Run figure c; write its section of RESULTS.md unless `--no-write`."""
    options = parser(FIGURE, __doc__)
    options.add_argument("--repeat", type=int, default=1, help="rounds over 1, 2, 4 (default 1)")
    return run_figure(FIGURE, argv, options, measure, lab)
