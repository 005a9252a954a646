"""The kill campaign (issue 12): random SIGKILLs and SIGTERMs, each followed at once by a rerun.

Backups, restores, decrypts and retention runs are started as the scheduler starts them and hit
at a random moment, with SIGKILL or SIGTERM, either the job itself, its whole process group, or
one of its children (pg_dump, zstd, gpg, pg_restore). Then, at once:

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
from collections import Counter
from pathlib import Path

import pytest

from tests.reliability.aftermath import host_problems, keyring_problems, share_problems
from tests.reliability.stand import Stand
from tests.reliability.strikes import contract_problems, plan, strike
from tests.reliability.tally import TALLY

pytestmark = [pytest.mark.integration, pytest.mark.slow]

KILLS_WANTED = 52
MAX_ATTEMPTS = 120
SEED = int(os.environ.get("RELIABILITY_KILL_SEED", "20261201"))
JOBS = ("backup", "restore", "decrypt", "retention")


def target(stand: Stand, job: str, database: str) -> str:
    """Return where a job writes: restores over one database (--clean), decrypts a new file.

    A decrypt never overwrites a file, and a killed one may have finished its output first.
    """
    return database if job == "restore" else stand.new_target("out")


def test_fifty_random_kills_each_followed_at_once_by_a_rerun_that_succeeds(
    light_stand: Stand,
) -> None:
    stand = light_stand
    durations = {
        "backup": stand.timed("backup"),
        "restore": stand.timed("restore", stand.new_target("yardstick")),
        "decrypt": stand.timed("decrypt", stand.new_target("yardstick")),
        "retention": stand.timed("retention"),
    }
    print(f"kill campaign: seed {SEED}, job durations {durations}")
    rng = random.Random(SEED)
    target_db = stand.new_target("campaign")
    problems: list[str] = []
    intact: set[Path] = set()
    kills = attempts = 0
    hits: Counter[str] = Counter()
    while kills < KILLS_WANTED and attempts < MAX_ATTEMPTS:
        attempts += 1
        attempt = plan(rng, durations, kills, JOBS)
        started = stand.start(attempt.job, target(stand, attempt.job, target_db))
        hit = strike(started, attempt)
        result = started.finish()
        if not hit or result.code == 0:
            # The target had ended (or ended anyway): the job did its work, nothing was killed.
            TALLY.missed += 1
            continue
        kills += 1
        hits[attempt.name] += 1
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
    assert {name.split()[0] for name in hits} == set(JOBS)
    assert {name.split()[1] for name in hits} == {"SIGKILL", "SIGTERM"}
