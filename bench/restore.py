"""Figure e: restore the >= 1 GiB database: `pg_restore --jobs 1` vs `--jobs 2` vs psql.

Two dumps are made first (not timed): the custom-format dump the job stores (`--compress=6`,
decrypted: decryption is not part of this figure) and a plain SQL dump. Each restore goes into a
fresh, empty database as the superuser (`--no-owner`), is checked (row count and a checksum of
every table) and dropped. The three alternate, `--repeat` rounds; the figure is best of each.
The baseline is `pg_restore --jobs 1`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from psycopg import sql

from bench.figure import parser, run_figure, table
from bench.lab import BIG, BenchError, Lab, quote
from bench.results import mib, seconds

FIGURE = "restore"
CHECK = "SELECT count(*), sum(hashtext(note)::bigint), sum(amount) FROM {}"


def fingerprint(lab: Lab, database: str) -> list[tuple[object, ...]]:
    """Return the row count and checksums of every order table of `database`."""
    result = []
    with lab.server.connect(database) as conn:
        for number in range(1, BIG.tables + 1):
            query = sql.SQL(CHECK).format(sql.Identifier(f"orders_{number}"))
            result.append(tuple(conn.execute(query).fetchone() or ()))
    return result


def restore(lab: Lab, name: str, script: str, expected: list[tuple[object, ...]]) -> float:
    """Create database `name`, time `script` restoring into it, check it, drop it."""
    lab.server.create_database(name)
    try:
        took = lab.shell(script, lab.superuser_env()).wall
        if fingerprint(lab, name) != expected:
            raise BenchError(f"the restore into {name} does not hold the original data")
    finally:
        lab.server.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
    return took


def measure(lab: Lab, args: argparse.Namespace) -> list[str]:
    """Dump once in each format, then time the three restores, alternating."""
    size = lab.database(BIG)
    expected = fingerprint(lab, BIG.name)
    scratch = lab.scratch(FIGURE)
    custom, plain = scratch / "big.dump", scratch / "big.sql"
    pg_dump = quote(lab.bin_dir / "pg_dump")
    lab.shell(f"{pg_dump} -Fc -Z6 -d {BIG.name} -f {quote(custom)}", lab.client_env())
    lab.shell(f"{pg_dump} -Fp -d {BIG.name} -f {quote(plain)}", lab.client_env())
    pg_restore = quote(lab.bin_dir / "pg_restore")
    psql = quote(lab.bin_dir / "psql")
    scripts = {
        "baseline: `pg_restore --jobs 1`": f"{pg_restore} --jobs 1 --no-owner -d {{db}} {custom}",
        "`pg_restore --jobs 2`": f"{pg_restore} --jobs 2 --no-owner -d {{db}} {custom}",
        "plain SQL: `psql -f dump.sql`": f"{psql} -X -q -v ON_ERROR_STOP=1 -d {{db}} -f {plain}",
    }
    times: dict[str, list[float]] = {name: [] for name in scripts}
    for _ in range(args.repeat):
        for number, (name, script) in enumerate(scripts.items(), 1):
            database = f"bench_restored_{number}"
            times[name].append(restore(lab, database, script.format(db=database), expected))
            print(f"  {name} {times[name][-1]:.1f} s", flush=True)
    base = min(next(iter(times.values())))
    rows = [
        [name, seconds(min(took)), ", ".join(seconds(t) for t in took), f"{min(took) / base:.2f}"]
        for name, took in times.items()
    ]
    return [
        "## e. Restore: `pg_restore --jobs 1` vs `--jobs 2` vs plain SQL through psql",
        f"Database `{BIG.name}`: {BIG.describe()}; pg_database_size {mib(size)}.",
        f"Custom dump (`-Fc -Z6`, what the job stores inside gpg): {mib(custom.stat().st_size)};",
        f"plain SQL dump: {mib(plain.stat().st_size)}. Each restore goes into a new empty database",
        "(superuser, `--no-owner`), is checked against the original (counts and checksums of every",
        "table) and dropped. Times exclude gpg decryption and the dumps themselves. The server",
        "runs with `fsync = off` (a throw-away server), which flatters every restore alike.",
        "",
        *table(
            ["restore", f"best of {args.repeat} (s)", "all runs (s)", "ratio to --jobs 1"], rows
        ),
    ]


def main(argv: Sequence[str], lab: Lab | None = None) -> int:
    """Run figure e; write its section of RESULTS.md unless `--no-write`."""
    options = parser(FIGURE, __doc__)
    options.add_argument("--repeat", type=int, default=2, help="rounds of 3 restores (default 2)")
    return run_figure(FIGURE, argv, options, measure, lab)
