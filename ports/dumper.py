"""The Dumper port: streams logical dumps out of PostgreSQL (pg_dump, pg_dumpall)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Generator
from dataclasses import dataclass
from typing import Protocol

from ports.database import ServerInfo, ServerTarget


@dataclass(frozen=True, slots=True)
class DumperInfo:
    """The dump tool chosen for a server: its version and archive settings."""

    version: str
    archive_format: str
    compression: str


class Dumper(Protocol):
    """Produce dumps as byte streams, never as files.

    `dump` and `dump_globals` return generators: they yield chunks while the child runs and raise
    DumpError at the end when the child failed (non-zero exit, killed, empty or malformed output),
    with its stderr (secrets masked) in the message. Closing the generator early kills the child.
    Passwords reach the child through its environment, never its command line.
    """

    @abstractmethod
    def select(self, server: ServerInfo) -> DumperInfo:
        """Pick the pg_dump for `server`; raise DumperTooOldError when none is new enough."""

    @abstractmethod
    def dump(self, target: ServerTarget, database: str) -> Generator[bytes, None, None]:
        """Stream a custom-format dump of `database`."""

    @abstractmethod
    def dump_globals(self, target: ServerTarget) -> Generator[bytes, None, None]:
        """Stream roles and tablespaces as SQL, without role passwords."""
