"""client_tools with the installed clients: Debian's PostgreSQL 15, pgserver's 16 (a test extra)."""

import logging

import pytest

from adapters.postgres.tools import (
    ClientTooOldError,
    candidate_paths,
    client_tools,
    embedded_bin_dir,
)
from ports.database import ServerInfo

pytestmark = pytest.mark.integration


def test_the_embedded_postgresql_client_is_a_candidate():
    embedded = embedded_bin_dir()
    assert embedded is not None
    assert embedded / "pg_dump" in candidate_paths("/usr/bin")


def test_a_postgresql_16_server_gets_a_pg_dump_16_without_configuration():
    chosen = client_tools(ServerInfo(160002, "16.2"), None, "/usr/bin")
    assert chosen.major_num >= 160000


def test_a_postgresql_15_server_gets_the_pg_dump_15_even_when_16_is_installed():
    # Its archives stay readable by the server's own pg_restore 15.
    chosen = client_tools(ServerInfo(150018, "15.18"), None, "/usr/bin")
    assert chosen.version.startswith("15.")
    assert chosen.path("pg_restore").is_file()
    assert chosen.path("psql").parent == chosen.bin_dir


def test_without_a_server_the_newest_client_is_chosen():
    chosen = client_tools(None, None, "/usr/bin")
    assert chosen.version.startswith("16.")


def test_a_newer_client_used_for_a_series_not_installed_is_logged(caplog):
    with caplog.at_level(logging.INFO, logger="lts.postgres"):
        chosen = client_tools(ServerInfo(140011, "14.11"), None, "/usr/bin")

    assert chosen.version.startswith("16.")
    assert (
        f"no PostgreSQL 14 client tools are installed; using the newer {chosen.version} "
        f"from {chosen.bin_dir} for the server 14.11"
    ) in caplog.messages


def test_a_server_newer_than_every_installed_client_is_refused():
    with pytest.raises(
        ClientTooOldError, match=r"^pg_dump 16\.\d+ at .* older than the server 99\.1;"
    ):
        client_tools(ServerInfo(990001, "99.1"), None, "/usr/bin")
