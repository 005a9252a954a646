"""Fixtures that start real external parts once per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.postgres import PostgresServer, start_postgres_server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """Start one PostgreSQL 15 server for the session; tests share it with random names."""
    server = start_postgres_server()
    try:
        yield server
    finally:
        server.stop()
