"""Two backup runs for one client started at once: the local lock lets exactly one through."""

from __future__ import annotations

import re

import pytest

from tests.reliability.conftest import MakeSite
from tests.reliability.world import Cluster, client_values, pg_bin_dir, published_runs, slow
from tests.support.gpg import KeyPair

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REFUSAL = re.compile(
    r"Failure: take_lock acme another run for acme is in progress "
    r"\(pid (?P<pid>\d+), since (?P<since>\S+)\)"
)


def test_of_two_runs_started_at_once_one_succeeds_and_the_other_is_refused_by_the_lock(
    make_site: MakeSite, cluster: Cluster, key_pair: KeyPair
) -> None:
    site = make_site(cluster.password)
    bin_dir = pg_bin_dir(site.root, cluster.server, site, slow(2))
    site.configure(backup={"pg_bin_dir": str(bin_dir)})
    url = site.write_client_config(
        "acme", client_values(cluster, key_pair, site.share, cluster.small)
    )

    jobs = [site.start("backup", "acme", "6", url, "-", "-") for _ in range(2)]
    results = [job.finish() for job in jobs]

    codes = sorted(result.code for result in results)
    assert codes == [0, 1], [result.stdout for result in results]
    winner, loser = (0, 1) if results[0].code == 0 else (1, 0)
    assert results[winner].failures == []
    [refusal] = results[loser].failures
    match = REFUSAL.fullmatch(refusal)
    assert match is not None, refusal
    assert int(match["pid"]) == jobs[winner].pid
    assert all(result.stderr == "" for result in results)
    assert len(published_runs(site.share)) == 1
