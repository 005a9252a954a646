"""Run one benchmark figure: `python -m bench <figure> [options]`; `python -m bench` lists them."""

from __future__ import annotations

import compileall
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

PACKAGES = ("domain", "ports", "adapters", "entrypoints")
"""The installed package's modules: compiled as a wheel install would before the jobs are timed."""

# Figure name -> module with `main(argv) -> int`. Add a line per new figure.
FIGURES = {
    "job-vs-raw": "bench.job_vs_raw",  # a
    "seed-design": "bench.seed_design",  # b
    "worker-pool": "bench.worker_pool",  # c
    "compression": "bench.compression",  # d
    "restore": "bench.restore",  # e
    "memory": "bench.memory",  # f
    "startup": "bench.startup",  # g
    "retention": "bench.retention_planning",  # h
    "rekey": "bench.rekey",  # i
    "row-counts": "bench.row_counts",  # j
    "hot-path": "bench.hot_path",  # k
    "all": "bench.run_all",
}


def main(argv: Sequence[str]) -> int:
    """Dispatch to the figure named first in `argv`; print the figures when there is none."""
    if not argv or argv[0] not in FIGURES:
        print("usage: python -m bench <figure> [options]; figures: " + ", ".join(FIGURES))
        return 0 if not argv else 2
    # Where PYTHONDONTWRITEBYTECODE is set, an editable checkout's jobs would compile every module
    # on each start; an installed wheel never does, and neither should the jobs timed here.
    root = Path(__file__).resolve().parents[1]
    for package in PACKAGES:
        compileall.compile_dir(root / package, quiet=1, workers=0)
    module = importlib.import_module(FIGURES[argv[0]])
    result: int = module.main(list(argv[1:]))
    return result


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
