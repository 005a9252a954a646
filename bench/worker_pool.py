"""Figure c: `[backup] worker_pool_size` 1 and 2 (and more) over 8 databases: the speed-up.

The job runs as the scheduler runs it over the same 8 databases (about 70 MiB each), with the
default compression, once per pool size, in the order given by `--pools` (default 1, 2),
repeated `--repeat` times; the figure is best of each. The baseline is `worker_pool_size = 1`
in the same run. zstd's threads follow the pool (domain/rules/parallelism.py): pool 1 gives one
database's zstd every CPU, pool = CPUs gives each one thread. Goal: pool 2 / pool 1 >= 1.7x.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from bench.figure import parser, run_figure, table
from bench.lab import POOL, Lab
from bench.results import mib, seconds
from domain.rules.parallelism import plan_parallelism

FIGURE = "worker-pool"
POOLS = (1, 2)
TARGET = 1.7


def measure(lab: Lab, args: argparse.Namespace) -> list[str]:
    """Time the job over the 8 databases with each pool size."""
    sizes = [lab.database(spec) for spec in POOL]
    names = [spec.name for spec in POOL]
    pools = args.pools
    times: dict[int, list[float]] = {pool: [] for pool in pools}
    cpus: dict[int, list[float]] = {pool: [] for pool in pools}
    servers: dict[int, list[float]] = {pool: [] for pool in pools}
    for _ in range(args.repeat):
        for pool in pools:
            site = lab.site(f"{FIGURE}-{pool}", {"worker_pool_size": pool})
            timing = lab.run_job(site, names).timing
            times[pool].append(timing.wall)
            cpus[pool].append(timing.cpu)
            servers[pool].append(timing.server)
            print(f"  pool {pool}: {timing}", flush=True)
    base = min(times[pools[0]])
    nproc = len(os.sched_getaffinity(0))
    # The work itself (job, children and server backends) spread evenly over every CPU: no pool
    # size can finish sooner, so it bounds the speed-up the pool can give on this machine.
    floors = {pool: (min(cpus[pool]) + min(servers[pool])) / nproc for pool in pools}
    rows = [
        [
            str(pool) + (" (baseline)" if pool == pools[0] else ""),
            f"-T{plan_parallelism(nproc, pool).compressor_threads}",
            seconds(min(times[pool])),
            ", ".join(seconds(t) for t in times[pool]),
            seconds(min(cpus[pool])),
            seconds(min(servers[pool])),
            seconds(floors[pool]),
            f"{base / min(times[pool]):.2f}x",
        ]
        for pool in pools
    ]
    lines = [
        "## c. `worker_pool_size` over 8 databases: the pool's speed-up",
        f"8 databases `{names[0]}` .. `{names[-1]}`, each {POOL[0].describe()}; pg_database_size",
        f"{mib(min(sizes))} to {mib(max(sizes))}, {mib(sum(sizes))} in all. Job as the scheduler",
        "runs it, default compression; each database is one pg_dump (and its server backend),",
        f"one zstd, one gpg and the job's copy of gpg's output, on the {nproc} CPUs of this",
        "machine. zstd's threads follow the pool (domain/rules/parallelism.py).",
        "",
        *table(
            [
                "worker_pool_size",
                "zstd threads",
                f"best of {args.repeat} (s)",
                "all runs (s)",
                "least CPU (s)",
                "server CPU (s)",
                f"CPU floor on {nproc} CPUs (s)",
                "speed-up vs 1",
            ],
            rows,
        ),
    ]
    if 1 in times and 2 in times:
        speedup = min(times[1]) / min(times[2])
        met = "met" if speedup >= TARGET else "MISSED"
        bound = min(times[1]) / floors[2]
        busy = (min(cpus[1]) + min(servers[1])) / min(times[1])
        lines += [
            "",
            f"**pool 2 / pool 1: {speedup:.2f}x**, {met} (target >= {TARGET}x).",
            "",
            "CPU floor: the least CPU time of the job, its children and the server's backends,",
            f"divided by the {nproc} CPUs; no pool finishes sooner. With one worker the",
            f"database's pipeline already keeps {busy:.2f} CPUs busy (pg_dump, zstd -T{nproc},",
            "gpg, the server backend and the job each run at once), so the most any pool",
            f"could give here is pool 1's time / pool 2's floor = {bound:.2f}x.",
        ]
    return lines


def main(argv: Sequence[str], lab: Lab | None = None) -> int:
    """Run figure c; write its section of RESULTS.md unless `--no-write`."""
    options = parser(FIGURE, __doc__)
    options.add_argument("--repeat", type=int, default=2, help="rounds over the pools (default 2)")
    options.add_argument(
        "--pools",
        type=lambda text: [int(part) for part in text.split(",")],
        default=list(POOLS),
        help="pool sizes, comma separated, the first the baseline (default 1,2)",
    )
    return run_figure(FIGURE, argv, options, measure, lab)
