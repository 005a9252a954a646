"""The CPUs this process may run on, which size the worker pool and zstd's threads.

`os.sched_getaffinity` honours `taskset` and cgroup cpusets (a container limited to some
CPUs); where it does not exist, `os.cpu_count()`. Tested in tests/unit/test_os_adapters.py.
"""

from __future__ import annotations

import os


def usable_cpus() -> int:
    """Return how many CPUs this process may run on (at least 1)."""
    affinity = getattr(os, "sched_getaffinity", None)
    if affinity is not None:
        return max(1, len(affinity(0)))
    return max(1, os.cpu_count() or 1)
