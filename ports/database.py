"""The Database port: what the domain asks of a PostgreSQL server (discovery, versions)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from pydantic import SecretStr


@dataclass(frozen=True, slots=True)
class ServerTarget:
    """How to reach and log in to a client's PostgreSQL server.

    `auth` is `password` (the secret is the password) or `entra` (the secret is the service
    principal's client secret, exchanged for a token at every connection).
    """

    host: str
    port: int
    user: str
    auth: str
    secret: SecretStr
    sslmode: str


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """The server's version, as `server_version_num` (for example 150004) and as text."""

    version_num: int
    version: str

    @property
    def major(self) -> int:
        """Return the major version (15 for 150004; 9 for 90624)."""
        return self.version_num // 10000


@dataclass(frozen=True, slots=True)
class DatabaseInfo:
    """A database to back up and its size in bytes (for largest-first ordering)."""

    name: str
    size: int


LARGE_OBJECTS_LISTED = 100
"""The most large objects `unreadable_large_objects` names one by one."""


class Database(Protocol):
    """Read-only questions to a PostgreSQL server.

    Raises DatabaseError with a one-line reason (never holding the password) when the server
    cannot be reached or queried.
    """

    @abstractmethod
    def server_info(self, target: ServerTarget) -> ServerInfo:
        """Return the server's version."""

    @abstractmethod
    def list_databases(self, target: ServerTarget, exclude: Collection[str]) -> list[DatabaseInfo]:
        """Return every connectable, non-template database not in `exclude`."""

    @abstractmethod
    def unreadable_tables(self, target: ServerTarget, database: str) -> list[str]:
        """Return the tables, sequences and views of `database` the login cannot dump.

        Each entry is the qualified name, followed by the reason in parentheses when it is not
        a missing SELECT privilege (no USAGE on the schema, row-level security). An empty list
        means pg_dump can read everything (`pg_read_all_data` or equivalent grants).
        """

    @abstractmethod
    def unreadable_large_objects(self, target: ServerTarget, database: str) -> list[str]:
        """Return the large objects of `database` the login cannot read, and their owners.

        Each entry is `large object <oid> (owned by <role>)`; `pg_read_all_data` does not
        cover large objects, so pg_dump fails on one the login neither owns nor was granted
        SELECT on. At most `LARGE_OBJECTS_LISTED` entries, then one `and N more` entry.
        """
