"""The Restorer port: put a dump back into PostgreSQL (pg_restore, psql) and inspect targets."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import PurePath
from typing import Final, Protocol

from domain.models.manifest import TableRows
from ports.database import ServerTarget

OPERATOR_AUTH: Final = "operator"
"""`ServerTarget.auth` of a target the operator chose: libpq finds the password itself
(`PGPASSWORD` or `~/.pgpass` of the operator), the job never handles it."""


@dataclass(frozen=True, slots=True)
class RestoreTarget:
    """Where a restore goes: a server, how to log in, and a database name."""

    server: ServerTarget
    database: str

    @property
    def where(self) -> str:
        """Return `database on host:port` for messages."""
        return f"{self.database} on {self.server.host}:{self.server.port}"


@dataclass(frozen=True, slots=True)
class TargetState:
    """Whether the target database exists, and how many objects of its own it holds."""

    exists: bool
    objects: int = 0

    @property
    def empty(self) -> bool:
        """Tell whether a restore into it would replace nothing."""
        return self.objects == 0


@dataclass(frozen=True, slots=True)
class RestoreOptions:
    """How pg_restore runs: parallel jobs, dropping existing objects first, keeping owners."""

    jobs: int = 1
    clean: bool = False
    keep_owners: bool = False


class PropertyKind(StrEnum):
    """What a database-level statement of an archive sets (SPEC 13)."""

    OWNER = "owner"
    COMMENT = "comment"
    SETTING = "setting"
    """`ALTER DATABASE ... SET`, `CONNECTION LIMIT`, `IS_TEMPLATE`, `ALLOW_CONNECTIONS`."""
    ROLE_SETTING = "role setting"
    """`ALTER ROLE ... IN DATABASE ... SET`."""
    PRIVILEGE = "privilege"
    """`GRANT`/`REVOKE ... ON DATABASE` (and the session authorization a grantor needs)."""
    SECURITY_LABEL = "security label"


SHOWN_LENGTH = 160
"""How much of a statement a message shows."""


def shown(sql: str) -> str:
    """Return a statement on one line, shortened for messages."""
    text = " ".join(sql.split())
    return text if len(text) <= SHOWN_LENGTH else text[: SHOWN_LENGTH - 3] + "..."


@dataclass(frozen=True, slots=True)
class DatabaseStatement:
    """One database-level statement of an archive, rewritten to name the target database."""

    kind: PropertyKind
    sql: str

    @property
    def shown(self) -> str:
        """Return the statement on one line, shortened for messages."""
        return shown(self.sql)


@dataclass(frozen=True, slots=True)
class DatabaseProperties:
    """What an archive holds of the database itself, as `pg_restore --create` would apply it.

    `create` is the archive's CREATE DATABASE for the target name (template0, encoding, locale,
    tablespace), None when the archive has no DATABASE entry; `statements` are the owner,
    comment, settings, per-role settings, privileges and security labels, in the archive's
    order; `unknown` are database-level statements not understood, never applied.
    """

    source: str = ""
    create: str | None = None
    statements: tuple[DatabaseStatement, ...] = ()
    unknown: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NotRestored:
    """A database-level property that did not come back, and why."""

    what: str
    reason: str

    def __str__(self) -> str:
        return f"{self.what} ({self.reason})"


@dataclass(frozen=True, slots=True)
class PropertiesOutcome:
    """What applying database-level statements did.

    `missing` are statements naming a role or tablespace the target server does not have (they
    come back once it exists); `failed` are statements that failed for any other reason.
    """

    applied: int = 0
    missing: tuple[NotRestored, ...] = ()
    failed: tuple[NotRestored, ...] = ()


@dataclass(frozen=True, slots=True)
class GlobalsOutcome:
    """What applying the globals SQL did: roles and tablespaces that existed, and errors."""

    existing: int = 0
    errors: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class ScratchDatabase:
    """A database named as a job's scratch database, as its server sees it now.

    `note` is its comment; `claimed` whether a live job's claim (`Restorer.claim_scratch`)
    holds it; `objects` how many objects of its own it holds, counted only for a database no
    job claims (None when not counted, or when it cannot be counted).
    """

    name: str
    note: str | None
    claimed: bool
    objects: int | None = None


SCRATCH_CLAIMED = "another drill that still runs claims this scratch database; it was not touched"
"""Why `Restorer.claim_scratch` refuses a scratch database another live job claims."""


class ScratchClaim(Protocol):
    """A job's claim on a scratch database: held until closed, or until the job's process ends."""

    @abstractmethod
    def close(self) -> None:
        """Let go of the claim (once the database is dropped); safe to call twice."""


@dataclass(frozen=True, slots=True)
class RestoreVersions:
    """The client tools chosen for a target server, and the server's version."""

    pg_restore: str
    server: str


class Restorer(Protocol):
    """Restore custom-format dumps with pg_restore and inspect restore targets.

    Every method raises RestoreError with a one-line reason (secrets masked). Passwords reach
    children through their environment only; a target with `auth` OPERATOR_AUTH gets no password
    from the job at all. Archives given as streams are consumed to their end, so a failure of the
    stream anywhere (a decryption error) is raised, not hidden.
    """

    @abstractmethod
    def inspect(self, target: RestoreTarget) -> TargetState:
        """Tell whether the target database exists and how many objects it holds."""

    @abstractmethod
    def read_properties(self, target: RestoreTarget, archive: PurePath) -> DatabaseProperties:
        """Read the archive's database-level entries, rewritten for `target`'s database name.

        The pg_restore is the one chosen for the target server.
        """

    @abstractmethod
    def create_database(
        self, target: RestoreTarget, properties: DatabaseProperties
    ) -> NotRestored | None:
        """Create the (missing) target database with the archive's CREATE DATABASE options.

        When the target server cannot create it so (a locale or tablespace it lacks), the
        database is created from template0 with the server's defaults and what was lost is
        returned; None when it was created as dumped.
        """

    @abstractmethod
    def apply_properties(
        self, target: RestoreTarget, statements: Sequence[DatabaseStatement]
    ) -> PropertiesOutcome:
        """Apply database-level statements in order; a failing one does not stop the others."""

    @abstractmethod
    def drop_database(self, target: RestoreTarget) -> None:
        """Drop the target database (only ever one this run created)."""

    @abstractmethod
    def claim_scratch(self, target: RestoreTarget) -> ScratchClaim:
        """Claim `target` as this job's scratch database on its server, before it is created.

        The claim lives on the server as long as the job holds it: closing it, or the end of
        the job's process (a SIGKILL, a crash) lets go of it, so another job can tell a scratch
        database of a live job from one a dead job left. It is tried, never waited for: a claim
        another live job holds raises RestoreError ending in SCRATCH_CLAIMED.
        """

    @abstractmethod
    def mark_database(self, target: RestoreTarget, note: str) -> None:
        """Set the target database's comment to `note` (a scratch database says what it is)."""

    @abstractmethod
    def scratch_databases(self, server: ServerTarget, prefix: str) -> tuple[ScratchDatabase, ...]:
        """Return the databases of `server` whose names start with `prefix` (see the type)."""

    @abstractmethod
    def restore(self, target: RestoreTarget, archive: PurePath, options: RestoreOptions) -> None:
        """Run pg_restore from the local archive file into the target database."""

    @abstractmethod
    def apply_globals(self, server: ServerTarget, sql: Iterable[bytes]) -> GlobalsOutcome:
        """Run the globals SQL (roles, tablespaces) on `server`, going on past failures.

        A role or tablespace that already exists is counted in `existing`; every other error
        (permission denied to create a role, a command the client does not know) is one line
        of `errors`.
        """

    @abstractmethod
    def count_tables(self, target: RestoreTarget) -> int:
        """Return the number of tables in the target database, outside the system schemas."""

    @abstractmethod
    def count_rows(self, target: RestoreTarget) -> tuple[TableRows, ...]:
        """Return the row count of every table a dump of the target database would hold.

        Counted as the backup counts them in the dump's snapshot, so the two compare.
        """

    @abstractmethod
    def versions(self, server: ServerTarget) -> RestoreVersions:
        """Return the pg_restore chosen for `server` and the server's version."""
