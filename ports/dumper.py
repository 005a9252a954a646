"""The Dumper port: streams logical dumps out of PostgreSQL (pg_dump, pg_dumpall)."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Protocol

from ports.database import ServerInfo, ServerTarget
from ports.streams import ByteStream


@dataclass(frozen=True, slots=True)
class DumperInfo:
    """The dump tool chosen for a server: its version and archive settings."""

    version: str
    archive_format: str
    compression: str


class DumpTool(Protocol):
    """The pg_dump chosen for one server; it dumps that server's databases.

    `dump` and `dump_globals` return streams that raise DumpError at their end when a child
    failed (non-zero exit, killed, empty or malformed output), with its stderr (secrets masked)
    in the message. Closing a stream early kills its children. Passwords reach the children
    through their environment, never their command line. A tool holds no resource: it needs no
    closing and may dump from several threads at once.
    """

    @property
    @abstractmethod
    def info(self) -> DumperInfo:
        """Return the tool's version, archive format and compression."""

    @abstractmethod
    def dump(self, target: ServerTarget, database: str) -> ByteStream:
        """Stream a custom-format dump of `database`, compressed as `info.compression` says.

        `zstd:N`: a zstd stream around the archive (SPEC 7); otherwise the archive itself.
        """

    @abstractmethod
    def dump_globals(self, target: ServerTarget) -> ByteStream:
        """Stream roles and tablespaces as SQL, without role passwords (zstd's for `zstd:N`)."""


class Dumper(Protocol):
    """Choose the dump tool for a server."""

    @abstractmethod
    def select(self, server: ServerInfo) -> DumpTool:
        """Pick the pg_dump for `server`; raise DumperTooOldError when none is new enough."""
