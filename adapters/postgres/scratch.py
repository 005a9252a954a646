"""Claims on scratch databases: session advisory locks a dead job cannot hold (SPEC 13, 15).

A drill claims each scratch database before it creates it: a session-level advisory lock (the
class key "LTSD", the name's `hashtext`) in the server's maintenance database, on a connection
the claim keeps open. The server ends the session, and the lock with it, when the job's process
ends in any way (a SIGKILL closes its sockets; a crashed host's session ends when TCP gives up),
so a scratch database whose lock anyone can take is one no live job works in.

Advisory locks belong to the database the session is in: claims and listings both use the
maintenance database (`connect_maintenance`), so every drill on a server sees the same locks.
The claim is tried, never waited for: a drill that waited for another drill's claim would wait
for hours, deaf to a stop request (no child to kill). Its session turns off
`idle_session_timeout` (PostgreSQL 14 and newer), which would end the session, and the claim,
while the drill still restores. Used by PgRestorer (restorer.py); tested against a real server
in tests/contract/test_restorer.py and, with killed drills, in
tests/reliability/test_random_kills_drill_rekey.py.
"""

from __future__ import annotations

from typing import Any

import psycopg

from ports.restorer import ScratchClaim

SCRATCH_LOCK_CLASS = 0x4C545344
"""The first key of a scratch database's advisory lock ("LTSD"); the second is its name's hash."""
TRY = "SELECT pg_try_advisory_lock(%s, hashtext(%s))"
UNLOCK = "SELECT pg_advisory_unlock(%s, hashtext(%s))"
KEEP_SESSION = "SET idle_session_timeout = 0"
IDLE_SESSION_TIMEOUT_SINCE = 140000
"""The server_version_num that brought `idle_session_timeout` (older servers reject the name)."""
LIST = """
SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database
 WHERE left(datname, %s) = %s ORDER BY datname
"""

Connection = psycopg.Connection[tuple[Any, ...]]


class PgScratchClaim(ScratchClaim):
    """A scratch database's advisory lock, held by a connection of its own until closed."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def close(self) -> None:
        """Close the connection: the server lets go of the lock with the session."""
        self._conn.close()


def claim(conn: Connection, database: str) -> PgScratchClaim | None:
    """Take the claim on `database` with `conn`, which the claim then owns.

    Returns None (and closes `conn`) when another session holds the claim: a live drill of
    the same name.

    Raises:
        psycopg.Error: the lock cannot be asked for (the connection is closed again).
    """
    try:
        if conn.info.server_version >= IDLE_SESSION_TIMEOUT_SINCE:
            conn.execute(KEEP_SESSION)
        row = conn.execute(TRY, (SCRATCH_LOCK_CLASS, database)).fetchone()
    except BaseException:
        conn.close()
        raise
    if not (row and row[0]):
        conn.close()
        return None
    return PgScratchClaim(conn)


def scratch_names(conn: Connection, prefix: str) -> list[tuple[str, str | None, bool]]:
    """Return each database named `prefix...`: its name, its comment, and whether it is claimed.

    Raises:
        psycopg.Error: the catalog or the locks cannot be read.
    """
    found = []
    for name, note in conn.execute(LIST, (len(prefix), prefix)).fetchall():
        row = conn.execute(TRY, (SCRATCH_LOCK_CLASS, name)).fetchone()
        free = bool(row and row[0])
        if free:
            # A lock this session could take is one no live job holds: let go of it at once.
            conn.execute(UNLOCK, (SCRATCH_LOCK_CLASS, name))
        found.append((str(name), None if note is None else str(note), not free))
    return found
