"""Run one figure: parse its options, measure in a lab (its own or the shared one), publish."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence

from bench.lab import Lab
from bench.results import command, measured_on, publish

Measure = Callable[[Lab, argparse.Namespace], list[str]]


def parser(figure: str, doc: str | None) -> argparse.ArgumentParser:
    """Return an argument parser for `figure` with the options every figure has."""
    result = argparse.ArgumentParser(
        prog=f"python -m bench {figure}",
        description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    result.add_argument("--no-write", action="store_true", help="print only, leave RESULTS.md")
    return result


def run_figure(
    figure: str,
    argv: Sequence[str],
    options: argparse.ArgumentParser,
    measure: Measure,
    lab: Lab | None,
) -> int:
    """Measure `figure` (in a new lab unless one is given) and publish its section."""
    args = options.parse_args(list(argv))
    load_before = os.getloadavg()[0]
    if lab is None:
        with Lab() as own:
            lines = measure(own, args)
    else:
        lines = measure(lab, args)
    load = (
        f"Load average (1 min) {load_before:.2f} before, {os.getloadavg()[0]:.2f} after: other work"
        " shares this machine, so wall times are best of several runs where it matters, and CPU"
        " times (user + system of the job or pipeline and its children, server excluded) are"
        " shown where they help."
    )
    shown = [arg for arg in argv if arg != "--no-write"]
    head = [
        lines[0],
        "",
        measured_on(),
        load,
        "",
        f"Command (from the repository root): `{command(figure, shown)}`",
        "",
    ]
    publish(figure, head + lines[1:], write=not args.no_write)
    return 0


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Return a Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def verdict(value: float, target: float, unit: str = "") -> str:
    """Return 'met' or 'MISSED' for a value that must be at most `target`."""
    met = "met" if value <= target else "MISSED"
    return f"{met} (target <= {target:g}{unit})"
