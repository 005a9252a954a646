"""Fixtures of the reliability suite: the secret ledger, a key pair, a client's databases, sites.

`postgres_server` (one server per session) comes from tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.reliability.world import Cluster, RecordedSite, SecretLedger, make_cluster
from tests.support.gpg import KeyPair, generate_key_pair
from tests.support.postgres import PostgresServer

MakeSite = Callable[..., RecordedSite]


@pytest.fixture(scope="session")
def ledger() -> SecretLedger:
    """Collect every site and secret of the session; test_zz_secret_scan.py searches them."""
    return SecretLedger()


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
