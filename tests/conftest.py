"""Fixtures shared by every suite: one real PostgreSQL server per test session.

The server starts only when a test asks for it, so `pytest -m "not integration"` starts nothing.
The integration and reliability suites share it; each test uses databases and roles of its own.
"""

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
