"""The Restorer port: put a dump back into PostgreSQL (pg_restore, psql) and inspect targets."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Final, Protocol

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
    def create_database(self, target: RestoreTarget) -> None:
        """Create the (missing) target database."""

    @abstractmethod
    def drop_database(self, target: RestoreTarget) -> None:
        """Drop the target database (only ever one this run created)."""

    @abstractmethod
    def restore(self, target: RestoreTarget, archive: PurePath, options: RestoreOptions) -> None:
        """Run pg_restore from the local archive file into the target database."""

    @abstractmethod
    def apply_globals(self, server: ServerTarget, sql: Iterable[bytes]) -> int:
        """Run the globals SQL (roles, tablespaces) on `server`; return the statements that failed.

        Statements that fail (a role that already exists) do not stop the others.
        """

    @abstractmethod
    def count_tables(self, target: RestoreTarget) -> int:
        """Return the number of tables in the target database, outside the system schemas."""
