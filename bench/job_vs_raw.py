"""Figure a: the backup job against the raw pipelines every peer uses, and against the limit.

Alternating in one run, on the same database (565 MiB by default, issue 14's size), as the same
login role over TCP with a scram password, with the job's gpg options (AES256, no gpg
compression, trust model always) to the same key, writing to the same file system:

  (i)   raw `pg_dump -Fc | gpg --encrypt > file`: pg_dump's own gzip 6, what every peer (and this
        job until zstd) does; the baseline;
  (ii)  raw `pg_dump -Fc -Z0 | zstd -N -T0 | gpg --encrypt > file`: the same pipeline with zstd at
        the job's default level;
  (iii) `pg_dump -Fc -Z0 > /dev/null`: reading the data out of the server, the limit;
  job   `python -m entrypoints.backup` as the scheduler runs it, with the default settings
        (compression and `worker_pool_size = "auto"`), only this database and its globals.

Rounds run i, ii, iii, job, ...; each figure is best of `--repeat` (wall time). Goals: job / (i)
<= 0.35 with stored bytes <= (i)'s, job / (iii) <= 1.6. Where the time goes: the raw zstd
pipeline is run once more with every stage under `/usr/bin/time`, which gives each process's
CPU time next to the server's.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence

from bench.figure import parser, run_figure, table, verdict
from bench.lab import MEDIUM, Lab, Timing, dump_bytes, quote
from bench.results import mib, seconds
from domain.models.compression import zstd_choice
from entrypoints.settings import BackupSettings

FIGURE = "job-vs-raw"
RAW_TARGET = 0.35
LIMIT_TARGET = 1.6
_STAGE_TIME = re.compile(r"^STAGE (\S+) (\S+) (\S+)$", re.MULTILINE)


def default_level() -> int:
    """Return the zstd level of the job's default compression."""
    choice = zstd_choice(BackupSettings().compression)
    if choice is None:
        raise SystemExit("the job's default compression is not zstd: figure a needs it")
    return choice.level


def pipelines(lab: Lab, database: str, output: str, level: int) -> dict[str, str]:
    """Return the three raw pipelines, by name."""
    pg_dump = f"{quote(lab.bin_dir / 'pg_dump')} --format=custom -d {quote(database)}"
    gpg = " ".join(quote(arg) for arg in lab.gpg_encrypt_argv())
    return {
        "gzip": f"{pg_dump} | {gpg} > {quote(output)}",
        "zstd": f"{pg_dump} --compress=0 | zstd -{level} -T0 -q -c | {gpg} > {quote(output)}",
        "limit": f"{pg_dump} --compress=0 > /dev/null",
    }


def stage_times(
    lab: Lab, database: str, output: str, level: int
) -> tuple[Timing, dict[str, float]]:
    """Run the raw zstd pipeline with each stage under /usr/bin/time; return CPU per stage."""
    pg_dump = f"{quote(lab.bin_dir / 'pg_dump')} --format=custom --compress=0 -d {quote(database)}"
    gpg = " ".join(quote(arg) for arg in lab.gpg_encrypt_argv())
    log = lab.scratch(f"{FIGURE}-stages") / "times"

    def timed(name: str, command: str) -> str:
        return f"/usr/bin/time -a -o {quote(log)} -f 'STAGE {name} %U %S' {command}"

    script = " | ".join(
        [
            timed("pg_dump", pg_dump),
            timed("zstd", f"zstd -{level} -T0 -q -c"),
            timed("gpg", gpg),
        ]
    )
    timing = lab.shell(f"{script} > {quote(output)}", lab.client_env())
    cpu = {
        name: float(user) + float(system)
        for name, user, system in _STAGE_TIME.findall(log.read_text())
    }
    return timing, cpu


def best(timings: list[Timing]) -> Timing:
    """Return the timing with the least wall time."""
    return min(timings, key=lambda timing: timing.wall)


def measure(lab: Lab, args: argparse.Namespace) -> list[str]:
    """Time the three raw pipelines and the job, alternating, `args.repeat` times each."""
    spec = MEDIUM.sized(args.mebibytes)
    size = lab.database(spec)
    level = default_level()
    site = lab.site(FIGURE, {"worker_pool_size": "auto"})
    output = lab.scratch(FIGURE) / "raw.dump.gpg"
    scripts = pipelines(lab, spec.name, str(output), level)
    times: dict[str, list[Timing]] = {name: [] for name in [*scripts, "job"]}
    stored: dict[str, int] = {}
    for round_number in range(1, args.repeat + 1):
        for name, script in scripts.items():
            times[name].append(lab.shell(script, lab.client_env()))
            if output.exists():
                stored[name] = output.stat().st_size
                output.unlink()
        run = lab.run_job(site, [spec.name])
        times["job"].append(run.timing)
        stored["job"] = dump_bytes(run.stored, spec.name)
        shown = ", ".join(f"{name} {times[name][-1]}" for name in times)
        print(f"  round {round_number}: {shown}", flush=True)
    staged, stage_cpu = stage_times(lab, spec.name, str(output), level)
    output.unlink()
    job, raw, limit = best(times["job"]), best(times["gzip"]), best(times["limit"])
    raw_ratio, limit_ratio = job.wall / raw.wall, job.wall / limit.wall
    smaller = stored["job"] <= stored["gzip"]
    labels = {
        "gzip": "baseline (i): raw `pg_dump -Fc \\| gpg` (gzip 6)",
        "zstd": f"(ii): raw `pg_dump -Fc -Z0 \\| zstd -{level} -T0 \\| gpg`",
        "limit": "(iii): `pg_dump -Fc -Z0 > /dev/null` (the limit)",
        "job": "backup job (`python -m entrypoints.backup`, defaults)",
    }
    rows = [
        [
            labels[name],
            seconds(best(runs).wall),
            ", ".join(seconds(t.wall) for t in runs),
            f"{best(runs).wall / raw.wall:.3f}",
            seconds(min(t.cpu for t in runs)),
            seconds(min(t.server for t in runs)),
            mib(stored[name]) if name in stored else "-",
        ]
        for name, runs in times.items()
    ]
    where = [
        [name, seconds(cpu)]
        for name, cpu in (("server (backend)", staged.server), *stage_cpu.items())
    ]
    where.append(["wall time of this run", seconds(staged.wall)])
    job_python = min(t.cpu for t in times["job"]) - min(t.cpu for t in times["zstd"])
    return [
        "## a. Backup job vs raw `pg_dump | gpg`, the same with zstd, and the limit",
        f"Database `{spec.name}`: {spec.describe()}; pg_database_size {mib(size)}.",
        "Same pg_dump 15, role and scram password over TCP, gpg options (AES256,",
        "`--compress-algo none`) and key, file system. The job runs as the scheduler runs it",
        f'with the default settings (compression `zstd:{level}`, `worker_pool_size = "auto"`),',
        "only this database and its globals dump; its time includes Python start-up, key",
        "import, server inspection, the globals dump, the manifest and SHA256SUMS. Rounds",
        "alternate (i), (ii), (iii), job. CPU: the pipeline's or job's processes; server: the",
        "PostgreSQL server's.",
        "",
        *table(
            [
                "measure",
                f"best of {args.repeat} (s)",
                "all runs (s)",
                "vs (i)",
                "least CPU (s)",
                "server CPU (s)",
                "stored",
            ],
            rows,
        ),
        "",
        f"**job / raw `pg_dump -Fc | gpg`: {raw_ratio:.3f}**, {verdict(raw_ratio, RAW_TARGET)}; "
        f"stored bytes {'<=' if smaller else '>'} the raw pipeline's "
        f"({mib(stored['job'])} vs {mib(stored['gzip'])}: {'met' if smaller else 'MISSED'}).",
        f"**job / `pg_dump -Fc -Z0 > /dev/null`: {limit_ratio:.3f}**, "
        f"{verdict(limit_ratio, LIMIT_TARGET)}.",
        "",
        "Where the time goes: the raw zstd pipeline (ii) once more, each stage under",
        "`/usr/bin/time` (CPU seconds, user + system); the job's own Python work (start-up,",
        "hashing and writing gpg's output, globals, manifest) is about the job's CPU minus (ii)'s:",
        f"{seconds(max(job_python, 0.0))} s.",
        "",
        *table(["process", "CPU (s)"], where),
    ]


def main(argv: Sequence[str], lab: Lab | None = None) -> int:
    """Run figure a; write its section of RESULTS.md unless `--no-write`."""
    options = parser(FIGURE, __doc__)
    options.add_argument("--repeat", type=int, default=3, help="rounds (default 3)")
    options.add_argument(
        "--mebibytes",
        type=int,
        default=MEDIUM.mebibytes,
        help=f"size of the database (default {MEDIUM.mebibytes}, issue 14's)",
    )
    return run_figure(FIGURE, argv, options, measure, lab)
