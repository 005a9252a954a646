"""Figure d: the compression choices pg_dump offers here: time and size, and the default they argue.

pg_dump 15 (Debian, the one the job uses with this server) takes `--compress` levels 0-9 only
(gzip); `lz4` and `zstd` need pg_dump 16 built with them. The figure asks each pg_dump on the
machine (Debian's 15 and pgserver's 16, if installed) whether it accepts `lz4` and `zstd`, then
times `pg_dump --format=custom --compress=N > file` of the >= 1 GiB database for levels 0, 1, 6
and 9 (no gpg: gpg's cost does not depend on the level's choice beyond the bytes it reads). As an
indication of what lz4 and zstd would give, `pg_dump -Z0 | lz4 -1` and `| zstd -3` are timed
too, with the command-line tools (one thread); pg_restore cannot read those files directly.

The baseline is gzip:6, the current default. The recommended default is the level using the least
CPU time (pg_dump's; wall time moves with the machine's other load) whose output is at most
SIZE_TOLERANCE larger than the smallest: long-term dumps are kept for years
(end-of-year runs ten), so bytes cost every month while time costs once, inside a nightly window;
a few percent of bytes are worth a large saving of time, more are not.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.figure import parser, run_figure, table
from bench.lab import BIG, Lab, quote
from bench.results import mib, seconds

FIGURE = "compression"
LEVELS = ("0", "1", "6", "9")
BASELINE = "6"
SIZE_TOLERANCE = 0.05
PGSERVER_BIN = (
    Path(__file__).resolve().parents[1]
    / ".venv/lib/python3.11/site-packages/pgserver/pginstall/bin"
)
PROBE = "host=/nonexistent/lts-probe port=1 dbname=probe connect_timeout=1"
EXTERNAL = {"lz4 -1 (external)": "lz4 -1 -q", "zstd -3 (external)": "zstd -3 -q -T1"}


@dataclass(frozen=True)
class Sample:
    """One compression choice: its name, wall and CPU time to dump, the output size."""

    name: str
    seconds: float
    cpu: float
    size: int


def support(pg_dump: Path, method: str) -> str:
    """Return whether `pg_dump` accepts `--compress=method`, in its own words when it does not."""
    result = subprocess.run(
        [str(pg_dump), "--format=custom", f"--compress={method}", f"--dbname={PROBE}"],
        capture_output=True,
        text=True,
        check=False,
    )
    complaint = next((line for line in result.stderr.splitlines() if "compress" in line), None)
    if complaint is None:
        return "accepted"
    return "no: " + complaint.removeprefix("pg_dump: error: ").strip()


def version(pg_dump: Path) -> str:
    """Return `pg_dump --version`."""
    result = subprocess.run([str(pg_dump), "--version"], capture_output=True, text=True, check=True)
    return result.stdout.strip()


def recommend(samples: Sequence[Sample]) -> tuple[Sample, str]:
    """Pick the default by the rule in the module docstring; return it and the reason."""
    smallest = min(samples, key=lambda sample: sample.size)
    close = [s for s in samples if s.size <= smallest.size * (1 + SIZE_TOLERANCE)]
    chosen = min(close, key=lambda sample: sample.cpu)
    notes = [
        f"{s.name} {s.cpu / chosen.cpu:.2f}x the CPU time, {s.size / chosen.size - 1:+.1%} bytes"
        for s in samples
        if s is not chosen
    ]
    return chosen, "against it: " + "; ".join(notes)


def measure(lab: Lab, args: argparse.Namespace) -> list[str]:
    """Probe lz4/zstd support, then time every level and the external indications."""
    del args
    size = lab.database(BIG)
    scratch = lab.scratch(FIGURE)
    pg_dumps = [lab.bin_dir / "pg_dump"]
    if (PGSERVER_BIN / "pg_dump").is_file():
        pg_dumps.append(PGSERVER_BIN / "pg_dump")
    probes = [
        [version(pg_dump), method, support(pg_dump, method)]
        for pg_dump in pg_dumps
        for method in ("lz4", "zstd")
    ]
    pg_dump = quote(lab.bin_dir / "pg_dump")
    samples: list[Sample] = []
    for level in LEVELS:
        output = scratch / f"level{level}.dump"
        took = lab.shell(
            f"{pg_dump} --format=custom --compress={level} -d {BIG.name} > {quote(output)}",
            lab.client_env(),
        )
        samples.append(Sample(f"gzip:{level}", took.wall, took.cpu, output.stat().st_size))
        output.unlink()
        print(f"  gzip:{level} {took} {mib(samples[-1].size)}", flush=True)
    external: list[Sample] = []
    for name, tool in EXTERNAL.items():
        if shutil.which(tool.split()[0]) is None:
            continue
        output = scratch / "external.dump"
        took = lab.shell(
            f"{pg_dump} --format=custom --compress=0 -d {BIG.name} | {tool} > {quote(output)}",
            lab.client_env(),
        )
        external.append(Sample(name, took.wall, took.cpu, output.stat().st_size))
        output.unlink()
        print(f"  {name} {took}", flush=True)
    base = next(sample for sample in samples if sample.name == f"gzip:{BASELINE}")
    chosen, reason = recommend([sample for sample in samples if sample.name != "gzip:0"])
    rows = [
        [
            sample.name + (" (baseline, current default)" if sample is base else ""),
            seconds(sample.seconds),
            seconds(sample.cpu),
            mib(sample.size),
            f"{size / sample.size:.2f}",
            f"{sample.cpu / base.cpu:.2f}",
            f"{sample.size / base.size:.2f}",
        ]
        for sample in [*samples, *external]
    ]
    return [
        "## d. Compression: pg_dump's choices, time and size",
        f"Database `{BIG.name}`: {BIG.describe()}; pg_database_size {mib(size)}.",
        "Timed: `pg_dump --format=custom --compress=N -d DB > file` (pg_dump 15, no gpg).",
        "",
        "Does pg_dump accept lz4 and zstd here?",
        "",
        *table(["pg_dump", "method", "accepted"], probes),
        "",
        *table(
            [
                "choice",
                "wall (s)",
                "CPU (s)",
                "output",
                "pg_database_size / output",
                "CPU vs gzip:6",
                "size vs gzip:6",
            ],
            rows,
        ),
        "",
        "The `(external)` rows pipe an uncompressed custom dump through the command-line tool, an",
        "indication only of what pg_dump 16's built-in lz4/zstd would give (not usable by the job",
        "with this pg_dump, and pg_restore does not read such files).",
        "",
        f"**Recommended default: `{chosen.name}`** ({reason}).",
        "Rule: the least pg_dump CPU time of levels 1-9 whose output is at most "
        f"{SIZE_TOLERANCE:.0%}",
        "larger than the smallest (dumps are kept for years; level 0 is not a candidate).",
    ]


def main(argv: Sequence[str], lab: Lab | None = None) -> int:
    """Run figure d; write its section of RESULTS.md unless `--no-write`."""
    return run_figure(FIGURE, argv, parser(FIGURE, __doc__), measure, lab)
