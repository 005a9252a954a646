"""Export a database snapshot for pg_dump and count the rows of its tables in that snapshot.

A REPEATABLE READ, read-only transaction exports its snapshot (`pg_export_snapshot()`); pg_dump
runs with `--snapshot=<id>` and so sees exactly what this transaction sees. While pg_dump runs, a
thread counts every dumped table's rows (row_counts.py) and the large objects in the same
transaction, so the counts are the rows in the dump, whatever writes happen meanwhile. The
transaction stays open until `close`, after the dump ended: pg_dump can import the snapshot only
while it is. `row_security` is off, as in pg_dump: a table whose policies would hide rows from
this login fails the count, as it fails the dump. Tested against a real server in
tests/integration/test_postgres_dumper.py.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import psycopg

from adapters.postgres.row_counts import count_large_objects, count_rows
from adapters.process.text import one_line
from domain.models.manifest import TableRows
from domain.models.redaction import Redactor
from ports.errors import DumpError

logger = logging.getLogger("lts.postgres")

JOIN_SECONDS = 30.0
"""How long `close` waits for a cancelled count to give the connection back."""


class SnapshotCounter:
    """One database's exported snapshot, and the row counts taken in it by a thread.

    Args:
        conn: a fresh connection to the database (this object owns and closes it).
        database: its name, for messages.
        redactor: masks the reasons of failures.
    """

    def __init__(
        self, conn: psycopg.Connection[tuple[Any, ...]], database: str, redactor: Redactor
    ) -> None:
        self._conn = conn
        self._database = database
        self._redactor = redactor
        self._tables: tuple[TableRows, ...] = ()
        self._large_objects = 0
        self._error: str | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        self.seconds = 0.0
        try:
            conn.autocommit = False
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            conn.execute("SET LOCAL row_security = off")
            # It waits idle in its transaction while pg_dump runs: a database's own limit on
            # that must not end it (pg_dump lifts it for itself too).
            conn.execute("SET LOCAL idle_in_transaction_session_timeout = 0")
            row = conn.execute("SELECT pg_export_snapshot()").fetchone()
        except psycopg.Error as exc:
            conn.close()
            raise DumpError(self._why("cannot export a snapshot", exc)) from None
        self.snapshot_id = str(row[0]) if row else ""

    def start(self) -> None:
        """Start counting in a thread (the snapshot stays exported meanwhile)."""
        self._thread = threading.Thread(
            target=self._count, name=f"lts-count-{self._database}", daemon=True
        )
        self._thread.start()

    def result(self) -> tuple[tuple[TableRows, ...], int]:
        """Wait for the counts; return every table's rows and the number of large objects.

        Raises:
            DumpError: counting failed.
        """
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise DumpError(self._error)
        return self._tables, self._large_objects

    def close(self) -> None:
        """Stop a count still running, end the transaction (and the snapshot); safe twice."""
        if self._closed:
            return
        self._closed = True
        thread = self._thread
        if thread is not None and thread.is_alive():
            # The dump failed or was stopped: a long count must not hold the job.
            self._conn.cancel_safe()
            thread.join(JOIN_SECONDS)
        try:
            self._conn.close()
        except psycopg.Error:
            logger.warning("closing the snapshot connection to %s failed", self._database)

    def _count(self) -> None:
        started = time.monotonic()
        try:
            self._tables = count_rows(self._conn)
            self._large_objects = count_large_objects(self._conn)
        except psycopg.Error as exc:
            self._error = self._why("cannot count the rows in the dump's snapshot", exc)
        except Exception as exc:
            logger.exception("counting the rows of %s broke", self._database)
            self._error = f"counting the rows broke: {exc}"
        self.seconds = time.monotonic() - started
        logger.info(
            "%s: %d tables counted in %.3f s", self._database, len(self._tables), self.seconds
        )

    def _why(self, what: str, exc: psycopg.Error) -> str:
        return f"{what} of {self._database}: {one_line(str(exc), self._redactor)}"
