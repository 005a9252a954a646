"""Write one figure's section of bench/RESULTS.md, and describe the machine and the command.

Each figure owns the text between `<!-- NAME:start -->` and `<!-- NAME:end -->`; rewriting a
figure replaces only its own section (or appends it), as bench/retention_planning.py does.
"""

from __future__ import annotations

import os
import platform
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

HEADER = """# Benchmark results

Each section is written by its benchmark (`python -m bench <figure>`, see bench/__main__.py) and
rewritten in place on every run; the rest of this file is left as it is.
"""
RESULTS = Path(__file__).with_name("RESULTS.md")


def machine() -> str:
    """Describe the machine: CPUs usable, CPU model, memory, Python."""
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        model = found.group(1).strip() if found else model
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        found = re.search(r"^MemTotal:\s*(\d+) kB", meminfo.read_text(), re.MULTILINE)
        memory = f", {int(found.group(1)) / 1024**2:.0f} GiB RAM" if found else ""
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    python = f"{platform.python_implementation()} {platform.python_version()}"
    return (
        f"nproc {nproc}, CPU {model}{memory}, {python} ({platform.system()} {platform.machine()})"
    )


def command(figure: str, argv: Sequence[str] = ()) -> str:
    """Return the command line that reproduces `figure`, from the repository root."""
    python = Path(sys.executable)
    try:
        shown = str(python.relative_to(Path.cwd()))
    except ValueError:
        shown = str(python)
    return " ".join([shown, "-m", "bench", figure, *argv])


def measured_on() -> str:
    """Return the 'Measured <when> on: <machine>.' line."""
    return f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on: {machine()}."


def write_section(figure: str, lines: Sequence[str]) -> None:
    """Replace `figure`'s section of RESULTS.md, or append it, keeping every other section."""
    text = f"<!-- {figure}:start -->\n" + "\n".join(lines) + f"\n<!-- {figure}:end -->"
    current = RESULTS.read_text() if RESULTS.exists() else HEADER
    pattern = re.compile(
        rf"<!-- {re.escape(figure)}:start -->.*?<!-- {re.escape(figure)}:end -->", re.DOTALL
    )
    if pattern.search(current):
        updated = pattern.sub(lambda _: text, current)
    else:
        updated = current.rstrip("\n") + "\n\n" + text + "\n"
    RESULTS.write_text(updated)


def publish(figure: str, lines: Sequence[str], write: bool) -> None:
    """Print the section and, when `write`, store it in RESULTS.md."""
    for line in lines:
        print(line)
    if write:
        write_section(figure, lines)
        print(f"\nwrote {RESULTS} ({figure})")


def mib(size: int) -> str:
    """Return `size` bytes in MiB with one decimal."""
    return f"{size / 1024**2:,.1f} MiB"


def seconds(value: float) -> str:
    """Return a duration with a precision that suits it."""
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"
