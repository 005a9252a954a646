"""How many databases a backup dumps at once, and how many threads each zstd gets (SPEC 3).

One database's dump keeps several processes busy at once (pg_dump, zstd, gpg, the job's copy to
the share, and the server's backend when the server is on this host), each of them about one
core at most: a pipeline is as fast as its slowest process. So `auto` dumps one database per
usable CPU, which keeps every core busy while there are databases left; and the CPUs are shared
out among the databases running at once for zstd's threads, `cpus // pool` (at least 1). With
`auto` that is one thread each (zstd still reads, compresses and writes on threads of its own);
a pool set smaller than the CPUs (a host shared with other work), or a run with fewer databases
than the pool (one client with a single large database), gives each zstd more threads, so the
databases use the cores the pool leaves.
Compressors never get more threads in all than there are CPUs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

AUTO: Literal["auto"] = "auto"


@dataclass(frozen=True, slots=True)
class Parallelism:
    """The worker pool's size and the threads of each database's zstd."""

    pool: int
    compressor_threads: int


def plan_parallelism(cpus: int, pool: int | Literal["auto"] = AUTO) -> Parallelism:
    """Return the pool (`auto`: one database per CPU) and zstd's threads for `cpus` CPUs."""
    cpus = max(1, cpus)
    size = cpus if pool == AUTO else max(1, int(pool))
    return Parallelism(pool=size, compressor_threads=compressor_threads(cpus, size, size))


def compressor_threads(cpus: int, pool: int, databases: int) -> int:
    """Return zstd's threads for each dump of a run of `databases` with `pool` workers.

    Only min(pool, databases) dumps run at once: the CPUs are shared among those, so a run of
    one large database gives its zstd every CPU, and a full pool gives each `cpus // pool`.
    """
    at_once = max(1, min(pool, databases))
    return max(1, max(1, cpus) // at_once)
