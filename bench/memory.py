"""Figure f: peak resident memory of the job process while it dumps 0.1, 0.5 and 1 GiB.

The job runs as the scheduler runs it (same command line and environment as `Site.run`), as a
child of this process, with the default settings and one database. Its own `/proc/<pid>/status`
is read every SAMPLE_SECONDS: VmHWM is the kernel's high-water mark of the job's resident set, so
the last reading before the job exits is its peak (pg_dump, zstd and gpg are separate processes
and are not counted: they are not the job). The baseline is the same job over the small
database: a flat memory profile gives a ratio near 1. Target: peak <= 100 MiB at every size.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from bench.data import DatabaseSpec
from bench.figure import parser, run_figure, table, verdict
from bench.lab import BIG, MEDIUM, SMALL, Lab
from bench.results import mib, seconds
from tests.support.jobs import REPO, JobResult

FIGURE = "memory"
SAMPLE_SECONDS = 0.02
TARGET_MIB = 100
_FIELD = re.compile(r"^(VmHWM|VmRSS):\s+(\d+) kB$", re.MULTILINE)


def status(pid: int) -> dict[str, int]:
    """Return VmHWM and VmRSS of `pid` in bytes, or nothing once it has gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    return {name: int(value) * 1024 for name, value in _FIELD.findall(text)}


def sampled_job(lab: Lab, spec: DatabaseSpec) -> tuple[float, int, int]:
    """Run the job over `spec`, sampling its memory; return seconds, peak and samples taken."""
    site = lab.site(f"{FIGURE}-{spec.name}", {"worker_pool_size": "auto"})
    url = lab.client_url(site, [spec.name])
    out, err = site.root / "job.stdout", site.root / "job.stderr"
    peak = samples = 0
    began = time.perf_counter()
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            lab.job_argv(url), cwd=REPO, env=lab.job_env(site), stdout=stdout, stderr=stderr
        )
        while process.poll() is None:
            reading = status(process.pid)
            if reading:
                peak = max(peak, reading.get("VmHWM", 0), reading.get("VmRSS", 0))
                samples += 1
            time.sleep(SAMPLE_SECONDS)
    took = time.perf_counter() - began
    result = JobResult(process.returncode, out.read_text(), err.read_text())
    lab.check_run(site, result, [spec.name])
    return took, peak, samples


def measure(lab: Lab, args: argparse.Namespace) -> list[str]:
    """Sample the job over the small database, then over the larger ones."""
    del args
    rows = []
    peaks = {}
    for spec in (SMALL, MEDIUM, BIG):
        size = lab.database(spec)
        took, peak, samples = sampled_job(lab, spec)
        peaks[spec.name] = peak
        print(f"  {spec.name}: peak {mib(peak)} over {took:.1f} s", flush=True)
        baseline = " (baseline)" if spec is SMALL else ""
        rows.append([f"`{spec.name}`{baseline}", mib(size), seconds(took), str(samples), mib(peak)])
    big = max(peaks.values()) / 1024**2
    flat = peaks[BIG.name] / peaks[SMALL.name]
    return [
        "## f. Peak RSS of the job process during a dump",
        f"`{SMALL.name}`: {SMALL.describe()}; `{MEDIUM.name}`: {MEDIUM.describe()}; `{BIG.name}`:",
        f"{BIG.describe()}. The job runs as the scheduler runs it, default settings, one",
        f"database; its own VmHWM (from /proc/<pid>/status, read every {SAMPLE_SECONDS * 1000:.0f}",
        "ms) is the peak; pg_dump, zstd and gpg are other processes and are not counted.",
        "",
        *table(
            ["database", "pg_database_size", "job time (s)", "samples", "peak RSS (VmHWM)"], rows
        ),
        "",
        f"**Highest peak: {big:.1f} MiB**, {verdict(big, TARGET_MIB, ' MiB')}; "
        f"1 GiB / 0.1 GiB: {flat:.2f} (flat with size when near 1).",
    ]


def main(argv: Sequence[str], lab: Lab | None = None) -> int:
    """Run figure f; write its section of RESULTS.md unless `--no-write`."""
    return run_figure(FIGURE, argv, parser(FIGURE, __doc__), measure, lab)
