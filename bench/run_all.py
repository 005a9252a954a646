"""Run every figure in one process, sharing one lab: `python -m bench all [--no-write]`.

The server, the key pair and the databases are built once (the 1 GiB database serves figures a,
d, e and f) and removed at the end. A figure that fails is reported and the others still run;
the exit status is the number of failed figures.
"""

from __future__ import annotations

import importlib
import time
import traceback
from collections.abc import Sequence

from bench.lab import Lab

ORDER = (
    ("startup", "bench.startup"),
    ("job-vs-raw", "bench.job_vs_raw"),
    ("memory", "bench.memory"),
    ("compression", "bench.compression"),
    ("restore", "bench.restore"),
    ("seed-design", "bench.seed_design"),
    ("worker-pool", "bench.worker_pool"),
    ("rekey", "bench.rekey"),
    ("row-counts", "bench.row_counts"),
)
RETENTION = "bench.retention_planning"
HOT_PATH = "bench.hot_path"


def main(argv: Sequence[str]) -> int:
    """Run each figure with `argv` (only `--no-write` is shared) in one lab."""
    shared = [arg for arg in argv if arg == "--no-write"]
    failed: list[str] = []
    began = time.perf_counter()
    with Lab() as lab:
        for name, module_name in ORDER:
            print(f"\n=== {name} ===", flush=True)
            figure_began = time.perf_counter()
            try:
                importlib.import_module(module_name).main(shared, lab)
            except Exception:  # noqa: BLE001 - one broken figure must not hide the others
                traceback.print_exc()
                failed.append(name)
            print(f"({name}: {time.perf_counter() - figure_began:.0f} s)", flush=True)
    print("\n=== retention ===", flush=True)
    importlib.import_module(RETENTION).main(shared)
    print("\n=== hot-path ===", flush=True)
    importlib.import_module(HOT_PATH).main(shared)
    print(f"\nall figures in {time.perf_counter() - began:.0f} s; failed: {failed or 'none'}")
    return len(failed)
