"""Fixtures of the reliability suite: the secret ledger, a key pair, a client's databases, sites.

`postgres_server` (one server per session) comes from tests/conftest.py.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.reliability.stand import Stand
from tests.reliability.tally import TALLY
from tests.reliability.world import CAPTURES, Cluster, RecordedSite, SecretLedger, make_cluster
from tests.support.gpg import KeyPair, generate_key_pair
from tests.support.postgres import PostgresServer

MakeSite = Callable[..., RecordedSite]


@pytest.fixture(scope="session")
def ledger() -> Iterator[SecretLedger]:
    """Collect every site and secret of the session, and search them all when it ends.

    The search runs as this session fixture's teardown, after the last test that used the
    ledger, whatever the order the tests ran in: a leak anywhere fails the session.
    """
    found = SecretLedger()
    try:
        yield found
        scan(found)
    finally:
        for root in found.short_roots:
            shutil.rmtree(root, ignore_errors=True)


def scan(ledger: SecretLedger) -> None:
    """Fail when a secret the suite's jobs were given appears in anything they produced.

    Searched: every registered site's logs, each job's stdout and stderr, the share's file names
    and unencrypted files, what the wrappers captured (argv, the job's /proc cmdline and
    environ), and the in-process outputs of the fuzz tests.
    """
    if not ledger.sites and not ledger.texts:
        return
    assert ledger.secrets, "the tests registered the secrets they used"
    leaks = ledger.leaks()
    assert leaks == [], f"secrets leaked: {leaks}"
    captures = [
        path
        for site in ledger.sites
        if (site.root / CAPTURES).is_dir()
        for path in (site.root / CAPTURES).iterdir()
    ]
    if any(path.name.endswith(".parent-cmdline") for path in captures):
        assert any(path.name.endswith(".parent-environ") for path in captures)


@pytest.fixture(scope="session")
def key_pair(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    """Return the client's OpenPGP key pair (its passphrase is a secret of the scan too)."""
    return generate_key_pair(
        tmp_path_factory.mktemp("keys"), "acme", "acme@backup.test", "passphrase-of-acme-key"
    )


@pytest.fixture(scope="session")
def cluster(postgres_server: PostgresServer, ledger: SecretLedger, key_pair: KeyPair) -> Cluster:
    """Return the client's role and databases on the session's server."""
    made = make_cluster(postgres_server)
    ledger.add_secrets(made.password, postgres_server.password)
    assert key_pair.passphrase is not None
    ledger.add_secrets(key_pair.passphrase)
    return made


@pytest.fixture
def make_site(tmp_path: Path, ledger: SecretLedger) -> MakeSite:
    """Return a factory of recorded sites under this test's temp dir, registered for the scan."""
    count = 0

    def make(*secrets: str) -> RecordedSite:
        nonlocal count
        count += 1
        return ledger.register(RecordedSite(tmp_path / f"site{count}"), *secrets)

    return make


@pytest.fixture
def make_short_site(ledger: SecretLedger) -> MakeSite:
    """Return a factory of recorded sites with a short root under /tmp.

    gpg-agent's socket names must fit 107 bytes; the private key's keyring lives under the
    site's work root, so the sites of jobs that decrypt are kept short. They are removed after
    the session's secret scan has read them.
    """

    def make(*secrets: str) -> RecordedSite:
        root = Path(tempfile.mkdtemp(prefix="lts-", dir="/tmp"))
        ledger.short_roots.append(root)
        return ledger.register(RecordedSite(root / "s"), *secrets)

    return make


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the reliability suite's counts: kills, reruns and bad inputs tried."""
    lines = TALLY.lines()
    if lines:
        terminalreporter.section("reliability counts")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
def stand(make_short_site: MakeSite, cluster: Cluster, key_pair: KeyPair) -> Stand:
    """A client with one published run, made by the real backup job; restores may create."""
    built = Stand(make_short_site(cluster.password), cluster, key_pair)
    built.use_tools(None)
    first = built.run("backup")
    assert (first.code, first.failures) == (0, []), first.stdout + first.stderr
    built.allow_restores()
    return built


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
