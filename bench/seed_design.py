"""Figure b: the backup job against the seed's original design, over 8 databases.

The seed dumped each database, one at a time, as two plain SQL files (`pg_dump --schema-only` and
`pg_dump --data-only`), packed them with `tar -cjf` (bzip2), encrypted the archive with gpg and
deleted the plaintext. The baseline does exactly that per database in one shell script, with the
job's gpg options (AES256, no gpg compression) so only the dump format and compressor differ. The
job runs as the scheduler runs it over the same 8 databases, once with `worker_pool_size = 1`
(one at a time, like the seed) and once with the default 2. Baseline first, then the job runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from bench.figure import parser, run_figure, table
from bench.lab import POOL, Lab, quote
from bench.results import mib, seconds

FIGURE = "seed-design"


def seed_script(lab: Lab, databases: Sequence[str]) -> str:
    """Return the seed's per-database dump, tar, bzip2 and gpg steps as one script."""
    pg_dump = quote(lab.bin_dir / "pg_dump")
    gpg = " ".join(quote(arg) for arg in lab.gpg_encrypt_argv())
    steps = []
    for name in databases:
        steps += [
            f"{pg_dump} --schema-only -f {name}.schema.sql -d {name}",
            f"{pg_dump} --data-only -f {name}.data.sql -d {name}",
            f"tar -cjf {name}.tar.bz2 {name}.schema.sql {name}.data.sql",
            f"{gpg} < {name}.tar.bz2 > {name}.tar.bz2.gpg",
            f"rm {name}.schema.sql {name}.data.sql {name}.tar.bz2",
        ]
    return "set -e\n" + "\n".join(steps) + "\n"


def measure(lab: Lab, args: argparse.Namespace) -> list[str]:
    """Time the seed design, then the job with pools 1 and 2, over the 8 databases."""
    del args
    sizes = [lab.database(spec) for spec in POOL]
    names = [spec.name for spec in POOL]
    scratch = lab.scratch(FIGURE)
    seed = lab.shell(seed_script(lab, names), lab.client_env(), cwd=scratch)
    seed_bytes = sum(path.stat().st_size for path in scratch.glob("*.gpg"))
    print(f"  seed design {seed}", flush=True)
    runs = {}
    for pool in (1, 2):
        site = lab.site(f"{FIGURE}-{pool}", {"worker_pool_size": pool})
        runs[pool] = lab.run_job(site, names)
        print(f"  job pool {pool}: {runs[pool].seconds:.1f} s", flush=True)
    rows = [
        [
            "baseline: seed design (plain SQL, tar -cjf, gpg)",
            seconds(seed.wall),
            seconds(seed.cpu),
            mib(seed_bytes),
            "1.00",
        ]
    ]
    for pool, run in runs.items():
        stored = sum(run.stored.values())
        rows.append(
            [
                f"backup job, worker_pool_size {pool}",
                seconds(run.seconds),
                seconds(run.timing.cpu),
                mib(stored),
                f"{run.seconds / seed.wall:.2f}",
            ]
        )
    return [
        "## b. Backup job vs the seed's original design",
        f"8 databases `{names[0]}` .. `{names[-1]}`, each {POOL[0].describe()};",
        f"pg_database_size {mib(min(sizes))} to {mib(max(sizes))}, {mib(sum(sizes))} in all.",
        "Seed: per database, one at a time, `pg_dump --schema-only` and `--data-only` to plain SQL",
        "files, `tar -cjf`, `gpg --encrypt` (the job's options), plaintext deleted. Job: as the",
        "scheduler runs it, `pg_dump -Fc -Z6 | gpg` streamed to the share, plus globals, manifest",
        "and SHA256SUMS. Stored bytes include the globals dump for the job.",
        "",
        *table(["measure", "wall time (s)", "CPU (s)", "stored", "wall ratio to seed"], rows),
        "",
        f"**Ratio job / seed (wall): {runs[1].seconds / seed.wall:.2f} with one worker, "
        f"{runs[2].seconds / seed.wall:.2f} with the default two.** One run each.",
    ]


def main(argv: Sequence[str], lab: Lab | None = None) -> int:
    """Run figure b; write its section of RESULTS.md unless `--no-write`."""
    return run_figure(FIGURE, argv, parser(FIGURE, __doc__), measure, lab)
