"""Figure d: the default compression, chosen from measured time and size on two kinds of data.

Candidates: pg_dump's own gzip (`--compress=N`, levels 6, the old default and the baseline, and
1) and a separate zstd process at levels 1, 2, 3, 4, 6 and 9 (`pg_dump --compress=0 | zstd -N`,
what `compression = "zstd:N"` runs). Each dumps the same two databases, one text-heavy (the
order table) and one numeric (the readings table), to a file (no gpg: gpg's cost depends only on
the bytes it reads, which the size column shows). A third database of short rows of words (the
messages table) is measured the same way and shown beside the rule, not in it: it was added
after the rule, when an ad-hoc check on text without hex showed a different picture, and it says
what the default costs in bytes on such data. zstd runs with one worker thread (`-T1`, what
the default `worker_pool_size = "auto"` gives it), so its CPU time is comparable across levels.
Each choice is timed `--repeat` times, alternating; the figure takes the least CPU time of the
choice's processes (pg_dump and zstd, not the server: wall time moves with the machine's other
load) and the output size.

Rule for the default, written before measuring: the zstd level using the least CPU time, summed
over both kinds of data, among those whose output is, on both kinds, no larger than gzip:6's
(what a stored run must not exceed, issue 14) and at most SIZE_TOLERANCE larger than the
smallest zstd output. Long-term dumps are kept for years (end-of-year runs ten), so bytes cost
every month while time costs once, inside a nightly window: a few percent of bytes are worth a
large saving of time, more are not.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass

from bench.figure import parser, run_figure, table
from bench.lab import MEDIUM, NUMERIC, PROSE, Lab, quote
from bench.results import mib, seconds

FIGURE = "compression"
BASELINE = "gzip:6"
GZIP_LEVELS = (6, 1)
ZSTD_LEVELS = (1, 2, 3, 4, 6, 9)
SIZE_TOLERANCE = 0.05
RULE_KINDS = ("text", "numeric")
"""The kinds of data the rule judges by; the others are shown beside it."""


@dataclass(frozen=True)
class Sample:
    """One compression choice on one database: best wall and CPU time, server CPU, size."""

    choice: str
    wall: float
    cpu: float
    server: float
    size: int


def command(lab: Lab, choice: str, database: str, output: str) -> str:
    """Return the shell pipeline that dumps `database` to `output` with `choice`."""
    method, _, level = choice.partition(":")
    pg_dump = f"{quote(lab.bin_dir / 'pg_dump')} --format=custom -d {quote(database)}"
    if method == "gzip":
        return f"{pg_dump} --compress={level} > {quote(output)}"
    return f"{pg_dump} --compress=0 | zstd -{level} -T1 -q -c > {quote(output)}"


def choices() -> list[str]:
    """Return every candidate, baseline first."""
    return [f"gzip:{level}" for level in GZIP_LEVELS] + [f"zstd:{level}" for level in ZSTD_LEVELS]


def recommend(samples: dict[str, dict[str, Sample]]) -> tuple[str, list[str]]:
    """Apply the rule of the module docstring; return the level and why the others lost."""
    kinds = [kind for kind in samples if kind in RULE_KINDS]
    zstd = [choice for choice in choices() if choice.startswith("zstd:")]
    smallest = {kind: min(samples[kind][c].size for c in zstd) for kind in kinds}
    reasons: list[str] = []
    eligible = []
    for choice in zstd:
        too_big = [
            kind
            for kind in kinds
            if samples[kind][choice].size > samples[kind][BASELINE].size
            or samples[kind][choice].size > smallest[kind] * (1 + SIZE_TOLERANCE)
        ]
        if too_big:
            reasons.append(f"{choice} too large on {', '.join(too_big)}")
        else:
            eligible.append(choice)
    if not eligible:
        return BASELINE, reasons
    chosen = min(eligible, key=lambda c: sum(samples[kind][c].cpu for kind in kinds))
    cpu = sum(samples[kind][chosen].cpu for kind in kinds)
    reasons += [
        f"{c} {sum(samples[kind][c].cpu for kind in kinds) / cpu:.2f}x the CPU time"
        for c in eligible
        if c != chosen
    ]
    return chosen, reasons


def measure(lab: Lab, args: argparse.Namespace) -> list[str]:
    """Time every choice on both kinds of data, alternating, `args.repeat` rounds."""
    specs = {
        "text": MEDIUM.sized(args.mebibytes),
        "numeric": NUMERIC.sized(args.mebibytes),
        "words": PROSE.sized(args.mebibytes),
    }
    sizes = {kind: lab.database(spec) for kind, spec in specs.items()}
    output = lab.scratch(FIGURE) / "dump"
    runs: dict[str, dict[str, list[Sample]]] = {kind: {} for kind in specs}
    for round_number in range(1, args.repeat + 1):
        for kind, spec in specs.items():
            for choice in choices():
                took = lab.shell(command(lab, choice, spec.name, str(output)), lab.client_env())
                sample = Sample(choice, took.wall, took.cpu, took.server, output.stat().st_size)
                output.unlink()
                runs[kind].setdefault(choice, []).append(sample)
                print(f"  round {round_number} {kind} {choice}: {took} {mib(sample.size)}")
    samples = {
        kind: {
            choice: Sample(
                choice,
                min(s.wall for s in taken),
                min(s.cpu for s in taken),
                min(s.server for s in taken),
                taken[-1].size,
            )
            for choice, taken in by_choice.items()
        }
        for kind, by_choice in runs.items()
    }
    chosen, reasons = recommend(samples)
    lines = [
        "## d. Compression: the default level, from time and size on two kinds of data",
        *(
            f"`{spec.name}` ({kind}): {spec.describe()}; pg_database_size {mib(sizes[kind])}."
            for kind, spec in specs.items()
        ),
        "Timed: `pg_dump -Fc --compress=N > file` (gzip, pg_dump's own) and",
        "`pg_dump -Fc --compress=0 | zstd -N -T1 > file` (zstd, a separate process); pg_dump 15,",
        f"no gpg; best of {args.repeat} alternating rounds. CPU: pg_dump and zstd (not the",
        "server, shown apart).",
    ]
    for kind, by_choice in samples.items():
        base = by_choice[BASELINE]
        rows = [
            [
                choice + (" (baseline, the old default)" if choice == BASELINE else ""),
                seconds(sample.wall),
                seconds(sample.cpu),
                seconds(sample.server),
                mib(sample.size),
                f"{sample.cpu / base.cpu:.2f}",
                f"{sample.size / base.size:.3f}",
            ]
            for choice, sample in by_choice.items()
        ]
        beside = "" if kind in RULE_KINDS else ", shown beside the rule, not in it"
        lines += [
            "",
            f"{kind.capitalize()} data (`{specs[kind].name}`{beside}):",
            "",
            *table(
                [
                    "choice",
                    "wall (s)",
                    "CPU (s)",
                    "server CPU (s)",
                    "output",
                    "CPU vs gzip:6",
                    "size vs gzip:6",
                ],
                rows,
            ),
        ]
    lines += [
        "",
        f"**Default: `{chosen}`** ({'; '.join(reasons) or 'the only choice'}).",
        "Rule (module docstring): the zstd level with the least CPU time over the text and",
        "numeric kinds whose output is, on both, no larger than gzip:6's and at most",
        f"{SIZE_TOLERANCE:.0%} larger than the smallest zstd output.",
    ]
    if "words" in samples:
        words = samples["words"]
        base = words[BASELINE]
        lines += [
            "",
            f"On the words data `{chosen}` stores {words[chosen].size / base.size - 1:+.1%}",
            f"bytes against gzip:6 at {words[chosen].cpu / base.cpu:.2f}x its CPU time: short",
            "rows of prose compress better with gzip than the hex of the order table does, and",
            "pg_dump's uncompressed archive (`--compress=0`) carries a 5-byte header per row",
            "that zstd must compress too. Where bytes matter more than the backup window, a",
            "higher zstd level or `gzip:6` stores less (the table above says how much).",
        ]
    return lines


def main(argv: Sequence[str], lab: Lab | None = None) -> int:
    """Run figure d; write its section of RESULTS.md unless `--no-write`."""
    options = parser(FIGURE, __doc__)
    options.add_argument("--repeat", type=int, default=2, help="rounds (default 2)")
    options.add_argument(
        "--mebibytes",
        type=int,
        default=MEDIUM.mebibytes,
        help=f"size of each database (default {MEDIUM.mebibytes})",
    )
    return run_figure(FIGURE, argv, options, measure, lab)
