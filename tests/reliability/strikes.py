"""How the kill campaigns hit a running job: which signal, aimed at what, and when.

An attempt (`Plan`) names a job, a signal (SIGKILL or SIGTERM) and a target: the job itself, its
whole process group, or one of its children doing the job's work (pg_dump, zstd, gpg,
pg_restore). The
targets and signals go round, so every combination is tried; the moment is random, from a seeded
generator, so a failure can be replayed. `contract_problems` says what a killed job printed or
exited with that the scheduler contract forbids. Used by tests/reliability/test_random_kills.py
and tests/reliability/test_random_kills_drill_rekey.py.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tests.reliability.host import Proc, children_named
from tests.reliability.world import StartedJob
from tests.support.jobs import JobResult

CHILDREN = {
    "backup": ("pg_dump", "zstd", "gpg"),
    "restore": ("gpg", "zstd", "pg_restore"),
    "decrypt": ("gpg", "zstd"),
    "retention": (),
    "drill": ("gpg", "zstd", "pg_restore"),
    "rekey": ("gpg",),
}
"""The children doing each job's work; zstd compresses a backup (`zstd:N`, the default) and
decompresses every read of a stored `*.zst.gpg` file."""
WORKING: dict[tuple[str, str], Callable[[tuple[str, ...]], bool]] = {
    ("backup", "pg_dump"): lambda argv: any(
        arg.startswith("--dbname=") and "lts-probe" not in arg for arg in argv
    ),
    ("backup", "zstd"): lambda argv: "-c" in argv and "-d" not in argv,
    ("backup", "gpg"): lambda argv: "--encrypt" in argv,
    ("restore", "gpg"): lambda argv: "--decrypt" in argv,
    ("restore", "zstd"): lambda argv: "-d" in argv,
    ("restore", "pg_restore"): lambda argv: any(arg.startswith("--dbname=") for arg in argv),
    ("decrypt", "gpg"): lambda argv: "--decrypt" in argv,
    ("decrypt", "zstd"): lambda argv: "-d" in argv,
    ("drill", "gpg"): lambda argv: "--decrypt" in argv,
    ("drill", "zstd"): lambda argv: "-d" in argv,
    ("drill", "pg_restore"): lambda argv: any(arg.startswith("--dbname=") for arg in argv),
    ("rekey", "gpg"): lambda argv: "--decrypt" in argv or "--encrypt" in argv,
}
"""What tells the child doing the job's work: not a `--version` or option probe, not a key
import, which end in a few milliseconds."""
SIGNALS = (signal.SIGKILL, signal.SIGTERM)
CHILD_WAIT_SECONDS = 10.0
POLL_SECONDS = 0.005


@dataclass(frozen=True)
class Plan:
    """One attempt: which job, which signal, aimed at what, and when."""

    job: str
    signum: signal.Signals
    target: str
    """`job`, `group`, or a child's name."""
    delay: float

    @property
    def name(self) -> str:
        """Return `<job> <signal> <target>`, the tally's key."""
        return f"{self.job} {self.signum.name} {self.target}"


def plan(rng: random.Random, durations: dict[str, float], number: int, jobs: Sequence[str]) -> Plan:
    """Choose the next attempt: what is hit goes round, the moment is random.

    The jobs take turns; for each job the signals alternate and the targets (the job, its
    process group, each of its children) go round, so every combination is tried; a missed
    attempt is tried again with another moment.
    """
    job = jobs[number % len(jobs)]
    turn = number // len(jobs)
    signum = SIGNALS[turn % len(SIGNALS)]
    targets = ("job", "group", *CHILDREN[job])
    target = targets[(turn // len(SIGNALS)) % len(targets)]
    # A job may be hit anywhere in its life, its imports included; a child soon after it starts.
    if target in ("job", "group"):
        delay = rng.uniform(0.0, 0.9 * durations[job])
    else:
        delay = rng.uniform(0.0, 0.05)
    return Plan(job, signal.Signals(signum), target, delay)


def strike(started: StartedJob, attempt: Plan) -> bool:
    """Send the attempt's signal when its moment comes; return whether it reached a live target."""
    if attempt.target in ("job", "group"):
        time.sleep(attempt.delay)
        if started.process.poll() is not None:
            return False
        if attempt.target == "group":
            os.killpg(started.pid, attempt.signum)
        else:
            os.kill(started.pid, attempt.signum)
        return True
    does_the_work = WORKING[(attempt.job, attempt.target)]

    def working() -> list[Proc]:
        return [
            child
            for child in children_named(started.pid, attempt.target)
            if does_the_work(child.argv)
        ]

    deadline = time.monotonic() + CHILD_WAIT_SECONDS
    while time.monotonic() < deadline and started.process.poll() is None:
        if working():
            time.sleep(attempt.delay)
            hit = False
            for child in working():
                try:
                    os.kill(child.pid, attempt.signum)
                    hit = True
                except ProcessLookupError:
                    continue
            return hit
        time.sleep(POLL_SECONDS)
    return False


def contract_problems(attempt: Plan, result: JobResult) -> list[str]:
    """Return what the killed job printed or exited with that breaks the scheduler contract."""
    problems = []
    where = f"{attempt.name} after {attempt.delay:.2f} s"
    if result.stderr:
        problems.append(f"{where}: stderr {result.stderr!r}")
    if "Traceback" in result.stdout:
        problems.append(f"{where}: a traceback on stdout")
    allowed = ("Failure: ", "Critical failure: ", f"{attempt.job} acme")
    for line in result.stdout.splitlines():
        if not line.startswith(allowed):
            problems.append(f"{where}: an unexpected stdout line {line!r}")
    if result.code == 128 + signal.SIGTERM:
        if result.stdout != "Critical failure: terminated by signal SIGTERM\n":
            problems.append(f"{where}: stopped, but printed {result.stdout!r}")
    elif (
        attempt.target in ("job", "group")
        and attempt.signum == signal.SIGKILL
        and result.code != -signal.SIGKILL
    ):
        problems.append(f"{where}: exit {result.code} after SIGKILL")
    return problems
