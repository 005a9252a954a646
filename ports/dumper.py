"""The Dumper port: streams logical dumps out of PostgreSQL (pg_dump, pg_dumpall)."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Protocol

from domain.models.manifest import TableRows
from ports.database import ServerInfo, ServerTarget
from ports.streams import ByteStream


@dataclass(frozen=True, slots=True)
class DumperInfo:
    """The dump tool chosen for a server: its version and archive settings."""

    version: str
    archive_format: str
    compression: str


@dataclass(frozen=True, slots=True)
class DumpFacts:
    """What a finished dump held, recorded in the manifest (SPEC 13).

    `toc_entries` and `table_data_entries` are read from the archive's table of contents as it
    was written (`pg_restore --list`); `tables` (each table's exact row count) and
    `large_objects` are counted in the dump's own snapshot, None when counting was switched off
    or failed (`count_error` then says why: the dump itself may still be good).
    """

    toc_entries: int
    table_data_entries: int
    tables: tuple[TableRows, ...] | None = None
    large_objects: int | None = None
    count_error: str | None = None


class DatabaseDump(Protocol):
    """One database's dump: its stream, then what it held; `close` when done with both.

    `facts` may be asked only after `stream` ended without error; it raises DumpError when the
    table of contents was not read. `close` ends whatever the
    dump holds on the server (the snapshot's transaction) and stops the stream if it still runs;
    it is safe to call twice.
    """

    @property
    @abstractmethod
    def stream(self) -> ByteStream:
        """Return the custom-format dump as a stream (inside zstd's for `zstd:N`)."""

    @abstractmethod
    def facts(self) -> DumpFacts:
        """Return the table of contents counts and row counts of the finished dump."""

    @abstractmethod
    def close(self) -> None:
        """Let go of the snapshot and the stream."""


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
    def dump(
        self, target: ServerTarget, database: str, *, databases_in_run: int = 1
    ) -> DatabaseDump:
        """Start a custom-format dump of `database` in a snapshot its row counts share.

        `databases_in_run` is how many databases this run dumps: with fewer than the worker pool
        runs at once, the compressor may use the CPUs the idle workers leave.

        The stream is compressed as `info.compression` says: for `zstd:N` a zstd stream around
        the archive (SPEC 7), otherwise the archive itself. The facts are the archive's own.
        """

    @abstractmethod
    def dump_globals(self, target: ServerTarget) -> ByteStream:
        """Stream roles and tablespaces as SQL, without role passwords (zstd's for `zstd:N`)."""

    @abstractmethod
    def probe(self, target: ServerTarget, database: str) -> None:
        """Dump `database`'s schema to nowhere, to see that pg_dump can (`check`).

        Raises:
            DumpError: pg_dump refused, with its reason (the object it could not read).
        """


class Dumper(Protocol):
    """Choose the dump tool for a server."""

    @abstractmethod
    def select(self, server: ServerInfo) -> DumpTool:
        """Pick the pg_dump for `server`; raise DumperTooOldError when none is new enough."""
