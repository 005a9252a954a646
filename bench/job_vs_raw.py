"""Figure a: the backup job against the raw shell pipeline `pg_dump -Fc | gpg --encrypt > file`.

Both dump the same >= 1 GiB database with the same pg_dump 15 and the same `--compress` level
(the job's default, gzip:6 = `-Z 6`), as the same login role over TCP with a scram password, and
encrypt with the same gpg options (the job's: AES256, no gpg compression, trust model always) to
the same key, writing to the same file system. The job runs as the scheduler runs it, with
`worker_pool_size = 1` and only that database (plus its globals dump, part of its cost). Runs
alternate raw, job, raw, job ...; the figure is best of each (wall time). Target: job / raw
<= 1.05.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from bench.figure import parser, run_figure, table, verdict
from bench.lab import BIG, Lab, Timing, quote
from bench.results import mib, seconds

FIGURE = "job-vs-raw"
TARGET = 1.05
LEVEL = "6"


def raw_script(lab: Lab, database: str, output: str) -> str:
    """Return the raw baseline pipeline."""
    pg_dump = f"{quote(lab.bin_dir / 'pg_dump')} --format=custom --compress={LEVEL} -d {database}"
    gpg = " ".join(quote(arg) for arg in lab.gpg_encrypt_argv())
    return f"{pg_dump} | {gpg} > {quote(output)}"


def best(timings: list[Timing]) -> Timing:
    """Return the timing with the least wall time."""
    return min(timings, key=lambda timing: timing.wall)


def measure(lab: Lab, args: argparse.Namespace) -> list[str]:
    """Time the raw pipeline and the job, alternating, `args.repeat` times each."""
    size = lab.database(BIG)
    site = lab.site(FIGURE, {"worker_pool_size": 1, "compression": f"gzip:{LEVEL}"})
    scratch = lab.scratch(FIGURE)
    output = scratch / "raw.dump.gpg"
    script = raw_script(lab, BIG.name, str(output))
    raws: list[Timing] = []
    jobs: list[Timing] = []
    raw_bytes = job_bytes = 0
    for round_number in range(1, args.repeat + 1):
        raws.append(lab.shell(script, lab.client_env()))
        raw_bytes = output.stat().st_size
        output.unlink()
        run = lab.run_job(site, [BIG.name])
        jobs.append(run.timing)
        job_bytes = run.stored[f"{BIG.name}.dump.gpg"]
        print(f"  round {round_number}: raw {raws[-1]}, job {jobs[-1]}", flush=True)
    raw, job = best(raws), best(jobs)
    ratio = job.wall / raw.wall
    rows = [
        [
            "baseline: raw `pg_dump -Fc -Z6 \\| gpg --encrypt > file`",
            seconds(raw.wall),
            ", ".join(seconds(t.wall) for t in raws),
            seconds(min(t.cpu for t in raws)),
            mib(raw_bytes),
        ],
        [
            "backup job (`python -m entrypoints.backup`, pool 1)",
            seconds(job.wall),
            ", ".join(seconds(t.wall) for t in jobs),
            seconds(min(t.cpu for t in jobs)),
            mib(job_bytes),
        ],
    ]
    cpu_ratio = min(t.cpu for t in jobs) / min(t.cpu for t in raws)
    return [
        "## a. Backup job vs raw `pg_dump | gpg` pipeline",
        f"Database `{BIG.name}`: {BIG.describe()}; pg_database_size {mib(size)}.",
        "Same pg_dump 15 (`--format=custom --compress=6`), same role and scram password over TCP,",
        "same gpg options (AES256, `--compress-algo none`) and key, same file system. The job runs",
        "as the scheduler runs it (`python -m entrypoints.backup acme 6 file://... - -`), with",
        "`worker_pool_size = 1`, only this database, and its globals dump; its time includes",
        "Python start-up, key import, server inspection, the manifest and SHA256SUMS.",
        "",
        *table(
            ["measure", f"best of {args.repeat} (s)", "all runs (s)", "least CPU (s)", "output"],
            rows,
        ),
        "",
        f"**Ratio job / raw (wall, best of each): {ratio:.3f}**, {verdict(ratio, TARGET)}. CPU",
        f"ratio (job, pg_dump, gpg vs bash, pg_dump, gpg): {cpu_ratio:.3f}.",
    ]


def main(argv: Sequence[str], lab: Lab | None = None) -> int:
    """Run figure a; write its section of RESULTS.md unless `--no-write`."""
    options = parser(FIGURE, __doc__)
    options.add_argument("--repeat", type=int, default=3, help="rounds of raw + job (default 3)")
    return run_figure(FIGURE, argv, options, measure, lab)
