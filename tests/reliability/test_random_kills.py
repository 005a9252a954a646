"""The kill campaign (issue 12): random SIGKILLs and SIGTERMs, each followed at once by a rerun.

Backups, restores, decrypts and retention runs are started as the scheduler starts them and hit
at a random moment, with SIGKILL or SIGTERM, either the job itself, its whole process group, or
one of its children (pg_dump, gpg, pg_restore). Then, at once:

- the killed job said at most what the contract allows (a stopped job one `Critical failure:
  terminated by signal SIGTERM` line and status 143; never a traceback);
- no leftover keyring decrypts a backup without the passphrase (its agent caches nothing);
- the same job run again succeeds (a decrypt into a new file: it never overwrites one);
- afterwards no published run is incomplete, no partial run of a dead job stays, no keyring,
  gpg-agent, claim or plaintext is left, and the share marker and the local lock are free.

Every combination of job, signal and target is tried in turn; the moments are random, from a
fixed seed (`RELIABILITY_KILL_SEED` picks another), so a failure can be replayed. The counts
are printed at the end of the session (tests/reliability/tally.py).
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.reliability.aftermath import host_problems, keyring_problems, share_problems
from tests.reliability.conftest import MakeSite
from tests.reliability.host import Proc, children_named
from tests.reliability.stand import Stand
from tests.reliability.tally import TALLY
from tests.reliability.world import Cluster, SecretLedger, StartedJob, make_cluster
from tests.support.gpg import KeyPair
from tests.support.jobs import JobResult
from tests.support.postgres import PostgresServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

KILLS_WANTED = 52
MAX_ATTEMPTS = 120
SEED = int(os.environ.get("RELIABILITY_KILL_SEED", "20261201"))
JOBS = ("backup", "restore", "decrypt", "retention")
CHILDREN = {
    "backup": ("pg_dump", "gpg"),
    "restore": ("gpg", "pg_restore"),
    "decrypt": ("gpg",),
    "retention": (),
}
WORKING: dict[tuple[str, str], Callable[[tuple[str, ...]], bool]] = {
    ("backup", "pg_dump"): lambda argv: any(
        arg.startswith("--dbname=") and "lts-probe" not in arg for arg in argv
    ),
    ("backup", "gpg"): lambda argv: "--encrypt" in argv,
    ("restore", "gpg"): lambda argv: "--decrypt" in argv,
    ("restore", "pg_restore"): lambda argv: any(arg.startswith("--dbname=") for arg in argv),
    ("decrypt", "gpg"): lambda argv: "--decrypt" in argv,
}
"""What tells the child doing the job's work: not a `--version` or option probe, not a key
import, which end in a few milliseconds."""
SIGNALS = (signal.SIGKILL, signal.SIGTERM)
CHILD_WAIT_SECONDS = 10.0
POLL_SECONDS = 0.005
SUMMARY_PREFIXES = ("Failure: ", "Critical failure: ", *(f"{job} acme" for job in JOBS))


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


def plan(rng: random.Random, durations: dict[str, float], number: int) -> Plan:
    """Choose the next attempt: what is hit goes round, the moment is random.

    The jobs take turns; for each job the signals alternate and the targets (the job, its
    process group, each of its children) go round, so every combination is tried; a missed
    attempt is tried again with another moment.
    """
    job = JOBS[number % len(JOBS)]
    turn = number // len(JOBS)
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
    for line in result.stdout.splitlines():
        if not line.startswith(SUMMARY_PREFIXES):
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


@pytest.fixture(scope="module")
def light_cluster(postgres_server: PostgresServer, ledger: SecretLedger) -> Cluster:
    """A client whose jobs take about a second each: a dump of about a MB, one small database."""
    made = make_cluster(postgres_server, small=1, big_tables=1, big_rows=20_000)
    ledger.add_secrets(made.password)
    return made


@pytest.fixture
def light_stand(make_short_site: MakeSite, light_cluster: Cluster, key_pair: KeyPair) -> Stand:
    built = Stand(make_short_site(light_cluster.password), light_cluster, key_pair)
    built.use_tools(None)
    built.allow_restores()
    return built


def target(stand: Stand, job: str, database: str) -> str:
    """Return where a job writes: restores over one database (--clean), decrypts a new file.

    A decrypt never overwrites a file, and a killed one may have finished its output first.
    """
    return database if job == "restore" else stand.new_target("out")


def timed(stand: Stand, job: str, target: str = "") -> float:
    """Run a job to its end once, as the campaign's yardstick; return how long it took."""
    started = time.monotonic()
    result = stand.run(job, target)
    assert (result.code, result.failures) == (0, []), result.stdout + result.stderr
    return time.monotonic() - started


def test_fifty_random_kills_each_followed_at_once_by_a_rerun_that_succeeds(
    light_stand: Stand,
) -> None:
    stand = light_stand
    durations = {
        "backup": timed(stand, "backup"),
        "restore": timed(stand, "restore", stand.new_target("yardstick")),
        "decrypt": timed(stand, "decrypt", stand.new_target("yardstick")),
        "retention": timed(stand, "retention"),
    }
    print(f"kill campaign: seed {SEED}, job durations {durations}")
    rng = random.Random(SEED)
    target_db = stand.new_target("campaign")
    problems: list[str] = []
    intact: set[Path] = set()
    kills = attempts = 0
    while kills < KILLS_WANTED and attempts < MAX_ATTEMPTS:
        attempts += 1
        attempt = plan(rng, durations, kills)
        started = stand.start(attempt.job, target(stand, attempt.job, target_db))
        hit = strike(started, attempt)
        result = started.finish()
        if not hit or result.code == 0:
            # The target had ended (or ended anyway): the job did its work, nothing was killed.
            TALLY.missed += 1
            continue
        kills += 1
        TALLY.kills[attempt.name] += 1
        problems += contract_problems(attempt, result)
        problems += keyring_problems(stand.site, stand.latest_dump())

        rerun = stand.run(attempt.job, target(stand, attempt.job, target_db))
        TALLY.reruns += 1
        if (rerun.code, rerun.failures, rerun.stderr) != (0, [], ""):
            TALLY.failed_reruns += 1
            problems.append(f"rerun after {attempt.name}: {rerun.code} {rerun.stdout!r}")
        found = share_problems(stand.site, checked=intact)
        problems += [f"after {attempt.name}: {p}" for p in found]
        problems += [f"after {attempt.name}: {p}" for p in host_problems(stand.site, stand.outputs)]
        assert problems == [], "\n".join(problems)

    assert kills >= KILLS_WANTED, f"only {kills} kills in {attempts} attempts (seed {SEED})"
    assert {name.split()[0] for name in TALLY.kills} == set(JOBS)
    assert {name.split()[1] for name in TALLY.kills} == {"SIGKILL", "SIGTERM"}
