"""pg_dump selection finds the embedded PostgreSQL's client too (pgserver is a test extra)."""

import pytest

from adapters.postgres.binaries import candidate_paths, embedded_bin_dir, select_pg_dump
from ports.database import ServerInfo

pytestmark = pytest.mark.integration


def test_the_embedded_postgresql_client_is_a_candidate():
    embedded = embedded_bin_dir()
    assert embedded is not None
    assert embedded / "pg_dump" in candidate_paths("/usr/bin")


def test_a_postgresql_16_server_gets_a_pg_dump_16_without_configuration():
    chosen = select_pg_dump(ServerInfo(160002, "16.2"), None, "/usr/bin")
    assert chosen.major_num >= 160000


def test_a_postgresql_15_server_gets_the_pg_dump_15_even_when_16_is_installed():
    # Its archives stay readable by the server's own pg_restore 15.
    chosen = select_pg_dump(ServerInfo(150018, "15.18"), None, "/usr/bin")
    assert chosen.version.startswith("15.")
