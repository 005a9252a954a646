"""Figure g: entry-point start-up, time to the first pg_dump, and a 10,000-table database.

1. `python -m entrypoints.backup --help` against `python -c pass` (the interpreter's own start-up,
   the baseline), best of `--repeat` each, alternating. Target: `--help` <= 0.5 s.
2. Time to the first pg_dump: the job runs as the scheduler runs it with a `pg_bin_dir` whose
   `pg_dump` is a shell wrapper that records the time it was started for a database dump (not for
   `--version` or the compression probe) and then execs the real pg_dump. The time counts from
   just before this process starts the job: start-up, config, key import, server inspection,
   database discovery and the globals dump. Measured with a small database and with a database of
   10,000 tables (many objects: discovery and pg_dump's catalog work grow with them).
3. Many objects: the whole job over the 10,000-table database against the raw `pg_dump -Fc |
   gpg --encrypt > file` pipeline (as in figure a) in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bench.data import DatabaseSpec
from bench.figure import parser, run_figure, table, verdict
from bench.job_vs_raw import default_level, pipelines
from bench.lab import MANY, SMALL, BenchError, Lab, quote
from bench.results import mib, seconds
from tests.support.jobs import REPO

FIGURE = "startup"
TARGET_SECONDS = 0.5
COMMANDS = {
    "baseline: `python -c pass`": ["-c", "pass"],
    "`python -m entrypoints.backup --help`": ["-m", "entrypoints.backup", "--help"],
}


def spy_bin_dir(lab: Lab, root: Path, stamps: Path) -> Path:
    """Return a pg_bin_dir whose pg_dump appends its start time to `stamps` for each dump."""
    spy = root / "spy-bin"
    spy.mkdir(parents=True, exist_ok=True)
    real = lab.bin_dir
    wrapper = spy / "pg_dump"
    wrapper.write_text(
        "#!/bin/sh\n"
        'case "$*" in\n'
        "  *lts-probe*|*--version*) ;;\n"
        f"  *--dbname=*) date +%s.%N >> {quote(stamps)} ;;\n"
        "esac\n"
        f'exec {quote(real / "pg_dump")} "$@"\n'
    )
    wrapper.chmod(0o755)
    for tool in ("pg_dumpall", "pg_restore", "psql"):
        link = spy / tool
        if not link.exists():
            link.symlink_to(real / tool)
    return spy


def start_up(repeat: int) -> dict[str, list[float]]:
    """Time each command of COMMANDS `repeat` times, alternating."""
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(repeat):
        for name, args in COMMANDS.items():
            began = time.perf_counter()
            subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, check=True)
            times[name].append(time.perf_counter() - began)
    return times


def first_dump(lab: Lab, spec: DatabaseSpec) -> tuple[float, float]:
    """Run the job over `spec` with the spy pg_dump; return (to first pg_dump, whole job) s."""
    root = lab.scratch(f"{FIGURE}-{spec.name}")
    stamps = root / "pg_dump.stamps"
    site = lab.site(
        f"{FIGURE}-{spec.name}", {"worker_pool_size": 1}, pg_bin_dir=spy_bin_dir(lab, root, stamps)
    )
    url = lab.client_url(site, [spec.name])
    started = time.time()
    began = time.perf_counter()
    result = site.run("backup", "acme", "6", url, "-", "-", timeout=1800)
    took = time.perf_counter() - began
    lab.check_run(site, result, [spec.name])
    if not stamps.exists():
        raise BenchError("the spy pg_dump recorded no dump")
    first = float(stamps.read_text().split()[0])
    return first - started, took


def measure(lab: Lab, args: argparse.Namespace) -> list[str]:
    """Time start-up, then the first pg_dump and the whole job on both databases."""
    times = start_up(args.repeat)
    rows = [
        [name, f"{min(values):.3f}", f"{statistics.median(values):.3f}"]
        for name, values in times.items()
    ]
    base, helped = (min(values) for values in times.values())
    sizes = {spec.name: lab.database(spec) for spec in (SMALL, MANY)}
    firsts = {spec.name: first_dump(lab, spec) for spec in (SMALL, MANY)}
    for name, (first, whole) in firsts.items():
        print(f"  {name}: first pg_dump after {first:.2f} s, job {whole:.1f} s", flush=True)
    output = lab.scratch(f"{FIGURE}-raw") / "raw.dump.gpg"
    raw_zstd = pipelines(lab, MANY.name, str(output), default_level())["zstd"]
    raw = lab.shell(raw_zstd, lab.client_env()).wall
    many_job = firsts[MANY.name][1]
    return [
        "## g. Entry-point start-up, time to the first pg_dump, many objects",
        f"Start-up: best and median of {args.repeat} runs each, alternating, from the repository",
        "root with the project's virtualenv Python.",
        "",
        *table(["command", "best (s)", "median (s)"], rows),
        "",
        f"**`--help` start-up: {helped:.3f} s**, {verdict(helped, TARGET_SECONDS, ' s')}; "
        f"{helped - base:.3f} s over the bare interpreter ({helped / base:.1f}x).",
        "",
        "Time to the first pg_dump (job as the scheduler runs it, `worker_pool_size = 1`, one",
        "database; a wrapper pg_dump records when the dump starts): start-up, master and client",
        "config, key import, server inspection, database discovery and the globals dump.",
        f"`{SMALL.name}`: {SMALL.describe()}; `{MANY.name}`: {MANY.describe()}.",
        "",
        *table(
            ["database", "pg_database_size", "to first pg_dump (s)", "whole job (s)"],
            [
                [f"`{name}`", mib(sizes[name]), f"{first:.3f}", seconds(whole)]
                for name, (first, whole) in firsts.items()
            ],
        ),
        "",
        f"Many objects, `{MANY.name}`: raw `pg_dump -Fc -Z0 | zstd -{default_level()} -T0 | gpg`",
        f"{seconds(raw)} s, the job {seconds(many_job)} s: **ratio job / raw",
        f"{many_job / raw:.2f}** (one run each; the job's fixed cost is the time to its first",
        "pg_dump above).",
    ]


def main(argv: Sequence[str], lab: Lab | None = None) -> int:
    """Run figure g; write its section of RESULTS.md unless `--no-write`."""
    options = parser(FIGURE, __doc__)
    options.add_argument("--repeat", type=int, default=10, help="start-up runs (default 10)")
    return run_figure(FIGURE, argv, options, measure, lab)
