"""The kill campaign of the jobs that hold secrets or scratch state for long: drill and rekey.

A drill holds the private key, a plaintext scratch dump and a scratch database full of the
client's data; a rekey holds the private keys and streams plaintext from gpg to gpg. Each is
started as the scheduler starts it and hit at a random moment, with SIGKILL or SIGTERM, either
the job, its process group, or a child doing its work (gpg, zstd, pg_restore), as in
tests/reliability/test_random_kills.py. Then, at once:

- the killed job said at most what the contract allows, and no leftover keyring decrypts a
  backup without the passphrase;
- the same job run again succeeds (a rekey to the same key finishes what the killed one began;
  the next attempt moves the runs back, so every attempt has work to do);
- afterwards every published run is complete in one form, no scratch database is left on the
  target server (the rerun drops a killed drill's), and no keyring, gpg-agent, claim or
  plaintext is left in the work root; the share marker and the local lock are free.

The counts go to the session's tally (tests/reliability/tally.py).
"""

from __future__ import annotations

import os
import random
from collections import Counter

import pytest

from tests.reliability.aftermath import host_problems, keyring_problems, share_problems
from tests.reliability.stand import Stand
from tests.reliability.strikes import contract_problems, plan, strike
from tests.reliability.tally import TALLY
from tests.reliability.world import SecretLedger
from tests.support.gpg import generate_key_pair

pytestmark = [pytest.mark.integration, pytest.mark.slow]

KILLS_WANTED = 16
MAX_ATTEMPTS = 48
SEED = int(os.environ.get("RELIABILITY_KILL_SEED", "20261201"))
JOBS = ("drill", "rekey")
NEW_PASSPHRASE = "passphrase-of-the-campaign-new-key"


def test_drills_and_rekeys_killed_at_random_each_followed_at_once_by_a_rerun_that_succeeds(
    light_stand: Stand, ledger: SecretLedger, tmp_path_factory: pytest.TempPathFactory
) -> None:
    stand = light_stand
    new = generate_key_pair(
        tmp_path_factory.mktemp("keys"), "acme 2030", "acme-new@backup.test", NEW_PASSPHRASE
    )
    ledger.add_secrets(NEW_PASSPHRASE)
    stand.allow_rekeys(new)
    first = stand.run("backup")
    assert (first.code, first.failures) == (0, []), first.stdout + first.stderr
    form = "new"
    durations = {"drill": stand.timed("drill"), "rekey": stand.timed("rekey", form)}
    print(f"drill and rekey kill campaign: seed {SEED}, job durations {durations}")
    rng = random.Random(SEED)
    problems: list[str] = []
    hits: Counter[str] = Counter()
    kills = attempts = 0
    while kills < KILLS_WANTED and attempts < MAX_ATTEMPTS:
        attempts += 1
        attempt = plan(rng, durations, kills, JOBS)
        # A rekey moves the runs to the other key, so that it (and its rerun) has work to do.
        wanted = ("old" if form == "new" else "new") if attempt.job == "rekey" else ""
        started = stand.start(attempt.job, wanted)
        hit = strike(started, attempt)
        result = started.finish()
        if not hit or result.code == 0:
            TALLY.missed += 1
            form = wanted or form
            continue
        kills += 1
        hits[attempt.name] += 1
        TALLY.kills[attempt.name] += 1
        problems += contract_problems(attempt, result)
        problems += keyring_problems(stand.site, stand.latest_dump())
        if attempt.job == "drill":
            TALLY.scratch_left += len(stand.scratch_databases())

        rerun = stand.run(attempt.job, wanted)
        TALLY.reruns += 1
        if (rerun.code, rerun.failures, rerun.stderr) != (0, [], ""):
            TALLY.failed_reruns += 1
            problems.append(f"rerun after {attempt.name}: {rerun.code} {rerun.stdout!r}")
        form = wanted or form
        where = f"after {attempt.name} ({attempt.delay:.2f} s)"
        # A rekey changes published runs: every run is checked every time.
        problems += [f"{where}: {p}" for p in share_problems(stand.site)]
        problems += [f"{where}: {p}" for p in host_problems(stand.site, stand.outputs)]
        problems += [f"{where}: scratch database {name} left" for name in stand.scratch_databases()]
        assert problems == [], "\n".join(problems)

    assert kills >= KILLS_WANTED, f"only {kills} kills in {attempts} attempts (seed {SEED})"
    assert {name.split()[0] for name in hits} == set(JOBS)
    assert {name.split()[1] for name in hits} == {"SIGKILL", "SIGTERM"}
