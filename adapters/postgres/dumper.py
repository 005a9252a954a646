"""PgDumper: choose pg_dump for a server; its PgDumpTool streams pg_dump and pg_dumpall output.

The tools come from `client_tools` (the one rule every job uses). The password (or Entra token)
is fetched fresh for every dump, registered with the Redactor and given to the child as
PGPASSWORD in an environment built from scratch: it is never on the command line and never in
the job's own os.environ. Each dump is a lazy ProcessStream, so the encryptor can append gpg to
it and pg_dump writes straight into gpg. With `zstd:N` a zstd stage sits between them
(`pg_dump --compress=0 | zstd -N -T<threads>`), connected by OS pipes too, with an environment
that holds no password (`compressor_stages`). A database dump also records what it held (SPEC 13,
dump_facts.py): pg_dump runs in a snapshot exported by a transaction that counts every table's
rows in it, and a tap (`tee` into `pg_restore --list`) reads the table of contents as pg_dump
writes it (before zstd: the archive itself), without a byte of the dump passing through Python.
Tested by
tests/integration/test_postgres_dumper.py against a real server, and by
tests/contract/test_dumper.py.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from adapters.postgres.compression import CompressionChoice, choose_compression
from adapters.postgres.connection import (
    DEFAULT_CONNECT_TIMEOUT,
    libpq_password_env,
    secret_free_conninfo,
)
from adapters.postgres.credentials import Credentials
from adapters.postgres.dump_facts import PgDatabaseDump, TocTap, open_snapshot
from adapters.postgres.tools import ClientTools, ClientToolsError, ClientTooOldError, client_tools
from adapters.process import (
    CHUNK_SIZE,
    ChildFailure,
    ProcessStream,
    Stage,
    child_env,
    collect,
    inherited_env,
)
from adapters.process.zstd import compress_stage
from domain.models.compression import DEFAULT_COMPRESSION
from domain.models.redaction import Redactor
from domain.rules.parallelism import compressor_threads
from ports.database import ServerInfo, ServerTarget
from ports.dumper import Dumper, DumperInfo, DumpTool
from ports.errors import DatabaseError, DumpError, DumperTooOldError

ARCHIVE_FORMAT = "custom"
CUSTOM_FORMAT_MAGIC = b"PGDMP"
DEFAULT_CHUNK_SIZE = CHUNK_SIZE


def dump_error(failure: ChildFailure) -> DumpError:
    """Return the DumpError for a failed pg_dump or pg_dumpall."""
    return DumpError(failure.message)


class PgDumpTool(DumpTool):
    """The pg_dump (and pg_dumpall) chosen for one server, with its compression.

    Holds no resource: it needs no closing, and dumps from several threads at once.
    """

    def __init__(
        self,
        *,
        tools: ClientTools,
        compression: CompressionChoice,
        credentials: Credentials,
        redactor: Redactor,
        base_env: Mapping[str, str],
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        connect_timeout: int = DEFAULT_CONNECT_TIMEOUT,
        cpus: int = 1,
        pool: int = 1,
        count_rows: bool = True,
    ) -> None:
        self.tools = tools
        self.compression = compression
        self._credentials = credentials
        self._redactor = redactor
        self._base_env = dict(base_env)
        self._chunk_size = chunk_size
        self._connect_timeout = connect_timeout
        self._cpus = cpus
        self._pool = pool
        self._count_rows = count_rows

    @property
    def info(self) -> DumperInfo:
        """Return pg_dump's version, the archive format and the compression."""
        return DumperInfo(
            version=self.tools.version,
            archive_format=ARCHIVE_FORMAT,
            compression=self.compression.description,
        )

    def dump(
        self, target: ServerTarget, database: str, *, databases_in_run: int = 1
    ) -> PgDatabaseDump:
        """Start the dump of `database`: its stream, snapshot and counts; see the DumpTool port."""
        counter = (
            open_snapshot(
                target, database, self._credentials, self._redactor, self._connect_timeout
            )
            if self._count_rows
            else None
        )
        try:
            toc = TocTap(self._tool_path("pg_restore"), self._base_env, self._redactor)
            snapshot = (f"--snapshot={counter.snapshot_id}",) if counter is not None else ()
            threads = compressor_threads(self._cpus, self._pool, databases_in_run)
            stream = self._dump_stream(target, database, snapshot, toc, threads)
        except BaseException:
            if counter is not None:
                counter.close()
            raise
        if counter is not None:
            counter.start()
        return PgDatabaseDump(stream, toc, counter)

    def _dump_stream(
        self,
        target: ServerTarget,
        database: str,
        snapshot: tuple[str, ...],
        toc: TocTap,
        threads: int,
    ) -> ProcessStream:
        """Return the stream of `pg_dump --format=custom` of `database`, its TOC tapped."""
        argv = (
            str(self.tools.pg_dump),
            f"--format={ARCHIVE_FORMAT}",
            f"--compress={self.compression.argument}",
            "--no-password",
            *snapshot,
            f"--dbname={secret_free_conninfo(target, database)}",
        )
        stage = Stage(
            argv,
            self._child_env(target),
            "pg_dump",
            dump_error,
            self._redactor,
            magic=CUSTOM_FORMAT_MAGIC,
            expected="a dump",
            require_output=True,
            tap=toc.tap(),
        )
        return ProcessStream([stage, *self.compressor_stages(threads)], chunk_size=self._chunk_size)

    def probe(self, target: ServerTarget, database: str) -> None:
        """Run `pg_dump --schema-only` of `database` into /dev/null; raise DumpError if it fails."""
        argv = (
            str(self.tools.pg_dump),
            "--schema-only",
            "--no-password",
            f"--file={os.devnull}",
            f"--dbname={secret_free_conninfo(target, database)}",
        )
        collect(Stage(argv, self._child_env(target), "pg_dump", dump_error, self._redactor))

    def _tool_path(self, name: str) -> Path:
        try:
            return self.tools.path(name)
        except ClientToolsError as exc:
            raise DumpError(str(exc)) from None

    def dump_globals(self, target: ServerTarget) -> ProcessStream:
        """Return the stream of `pg_dumpall --globals-only --no-role-passwords`."""
        pg_dumpall = self._tool_path("pg_dumpall")
        # pg_dumpall ignores a dbname here; it connects to postgres, else template1.
        argv = (
            str(pg_dumpall),
            "--globals-only",
            "--no-role-passwords",
            "--no-password",
            f"--dbname={secret_free_conninfo(target, 'postgres')}",
        )
        stage = Stage(
            argv,
            self._child_env(target),
            "pg_dumpall",
            dump_error,
            self._redactor,
            require_output=True,
        )
        # The globals are dumped before the databases, alone: zstd may use every CPU.
        threads = compressor_threads(self._cpus, self._pool, 1)
        return ProcessStream([stage, *self.compressor_stages(threads)], chunk_size=self._chunk_size)

    def compressor_stages(self, threads: int) -> list[Stage]:
        """Return the stages that compress pg_dump's output: `zstd -T<threads>`, else none.

        zstd starts from the children's base environment: it never sees the password.
        """
        zstd = self.compression.zstd
        if zstd is None:
            return []
        return [compress_stage(zstd.level, threads, self._base_env, dump_error, self._redactor)]

    def _child_env(self, target: ServerTarget) -> dict[str, str]:
        # Built for every dump: an Entra token expires within the hour a long run may take.
        try:
            return libpq_password_env(
                self._base_env, target, self._connect_timeout, self._credentials, self._redactor
            )
        except DatabaseError as exc:
            raise DumpError(str(exc)) from None


class PgDumper(Dumper):
    """Choose pg_dump for a server by `client_tools`, and its compression.

    Args:
        credentials: where the password for each dump comes from.
        redactor: learns every password, and masks the children's stderr.
        pg_bin_dir: `[backup] pg_bin_dir`; None searches the usual places and PATH.
        compression: `[backup] compression`, for example `zstd:3` (see compression.py).
        chunk_size: the most bytes per chunk of a dump stream.
        connect_timeout: seconds libpq waits for the server.
        base_env: the environment the children start from (default: `inherited_env()`).
        cpus: the CPUs the job may use, and pool: its worker pool's size; zstd's `-T` for
            `zstd:N` shares the CPUs among the dumps that run at once
            (domain/rules/parallelism.py `compressor_threads`).
        count_rows: count every table's rows in the dump's snapshot (`[backup] count_rows`).
    """

    def __init__(
        self,
        *,
        credentials: Credentials,
        redactor: Redactor,
        pg_bin_dir: Path | None = None,
        compression: str = DEFAULT_COMPRESSION,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        connect_timeout: int = DEFAULT_CONNECT_TIMEOUT,
        base_env: Mapping[str, str] | None = None,
        cpus: int = 1,
        pool: int = 1,
        count_rows: bool = True,
    ) -> None:
        self.credentials = credentials
        self.redactor = redactor
        self.pg_bin_dir = pg_bin_dir
        self.compression = compression
        self.chunk_size = chunk_size
        self.connect_timeout = connect_timeout
        self.base_env = dict(inherited_env() if base_env is None else base_env)
        self.cpus = cpus
        self.pool = pool
        self.count_rows = count_rows

    def select(self, server: ServerInfo) -> PgDumpTool:
        """Return the pg_dump for `server` and its compression; see the Dumper port.

        Raises:
            DumperTooOldError: the chosen pg_dump is older than the server.
            DumpError: no pg_dump is found, or it cannot compress as configured.
        """
        try:
            tools = client_tools(server, self.pg_bin_dir, self.base_env.get("PATH"))
        except ClientTooOldError as exc:
            raise DumperTooOldError(str(exc)) from None
        except ClientToolsError as exc:
            raise DumpError(str(exc)) from None
        compression = choose_compression(
            self.compression, tools, child_env(self.base_env, LC_ALL="C")
        )
        return PgDumpTool(
            tools=tools,
            compression=compression,
            credentials=self.credentials,
            redactor=self.redactor,
            base_env=self.base_env,
            chunk_size=self.chunk_size,
            connect_timeout=self.connect_timeout,
            cpus=self.cpus,
            pool=self.pool,
            count_rows=self.count_rows,
        )
