"""The PostgreSQL server stopped mid-dump, and a server where every dump fails (150 failures).

Each test starts a server of its own (the session's server must keep running for the others).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg import sql

from tests.reliability.conftest import MakeSite
from tests.reliability.world import (
    FAIL,
    captured,
    client_values,
    make_cluster,
    partial_debris,
    pg_bin_dir,
    published_runs,
    slow,
    wait_for,
)
from tests.support.gpg import KeyPair
from tests.support.postgres import PostgresServer, start_postgres_server

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MANY = 150
MEMORY_DIR = Path("/dev/shm")


@pytest.fixture
def own_server() -> Iterator[PostgresServer]:
    """Start a server this test alone uses (and may stop), its files in memory when possible.

    150 CREATE DATABASE copy about 1 GB of catalog files: on a tmpfs that takes seconds, on a
    busy disk it can take a minute.
    """
    with pytest.MonkeyPatch.context() as patched:
        if MEMORY_DIR.is_dir() and os.access(MEMORY_DIR, os.W_OK):
            patched.setattr(tempfile, "tempdir", str(MEMORY_DIR))
        server = start_postgres_server()
    try:
        yield server
    finally:
        server.stop()


def test_a_server_stopped_mid_dump_is_reported_publishes_no_dump_and_exits_non_zero(
    make_site: MakeSite, own_server: PostgresServer, key_pair: KeyPair
) -> None:
    cluster = make_cluster(own_server, small=1)
    site = make_site(cluster.password, own_server.password)
    bin_dir = pg_bin_dir(site.root, own_server, site, slow(2))
    site.configure(backup={"pg_bin_dir": str(bin_dir), "worker_pool_size": 1})
    url = site.write_client_config("acme", client_values(cluster, key_pair, site.share))

    job = site.start("backup", "acme", "6", url, "-", "-")
    wait_for(lambda: captured(site, "pg_dump", "dump"), "the first dump", job)
    stopped = own_server.pg_ctl("-m", "immediate", "-w", "stop")
    result = job.finish()

    assert stopped.returncode == 0, stopped.stderr
    assert result.code == len(result.failures) == len(cluster.names), result.stdout
    for failure, name in zip(result.failures, cluster.names, strict=True):
        # pg_dump's own failure, or (for a database after the stop) its snapshot's connection.
        prefix = f"Failure: dump_database acme 127.0.0.1 {name} "
        assert failure.startswith((f"{prefix}pg_dump ", f"{prefix}cannot connect to ")), failure
    assert result.stderr == ""
    assert not list(site.share.rglob("*.dump.gpg"))
    assert partial_debris(site.share) == []
    [run] = published_runs(site.share)
    manifest = json.loads((run / "manifest.json").read_text())
    assert {entry["status"] for entry in manifest["databases"]} == {"failed"}


def test_150_failures_exit_100_not_150_modulo_256(
    make_site: MakeSite, own_server: PostgresServer, key_pair: KeyPair
) -> None:
    cluster = make_cluster(own_server, small=0)
    names = tuple(f"many_{number:03d}" for number in range(MANY))
    with own_server.connect() as conn:
        for name in names:
            # FILE_COPY is several times faster than PostgreSQL 15's default WAL_LOG here.
            conn.execute(
                sql.SQL("CREATE DATABASE {} STRATEGY FILE_COPY").format(sql.Identifier(name))
            )
    site = make_site(cluster.password, own_server.password)
    bin_dir = pg_bin_dir(site.root, own_server, site, FAIL)
    site.configure(backup={"pg_bin_dir": str(bin_dir), "worker_pool_size": 4})
    url = site.write_client_config("acme", client_values(cluster, key_pair, site.share, names))

    result = site.run("backup", "acme", "6", url, "-", "-")

    assert len(result.failures) == MANY, result.stdout[-2000:]
    assert result.code == 100
    assert all(
        line.startswith("Failure: dump_database acme 127.0.0.1 many_") for line in result.failures
    )
    assert all("refused by the reliability test" in line for line in result.failures)
    assert result.stderr == ""
