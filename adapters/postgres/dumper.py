"""PgDumper: stream pg_dump and pg_dumpall output, with the password in the child's environment.

The password (or Entra token) is fetched fresh for every dump, registered with the Redactor and
given to the child as PGPASSWORD in an environment built from scratch: it is never on the
command line and never in the job's own os.environ. Tested by
tests/integration/test_postgres_dumper.py against a real server.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from adapters.postgres.binaries import PgBinary, find_pg_dump, select_pg_dump
from adapters.postgres.child import stream_child
from adapters.postgres.compression import DEFAULT_COMPRESSION, CompressionChoice, choose_compression
from adapters.postgres.connection import (
    DEFAULT_CONNECT_TIMEOUT,
    libpq_child_env,
    secret_free_conninfo,
)
from adapters.postgres.credentials import Credentials
from domain.models.redaction import Redactor
from ports.database import ServerInfo, ServerTarget
from ports.dumper import Dumper, DumperInfo
from ports.errors import DatabaseError, DumpError

ARCHIVE_FORMAT = "custom"
CUSTOM_FORMAT_MAGIC = b"PGDMP"
DEFAULT_CHUNK_SIZE = 1024 * 1024
INHERITED_VARIABLES = ("PATH", "HOME", "TMPDIR", "TZ")
"""What the child keeps of the job's environment: never any PG* variable of the host."""


def inherited_env() -> dict[str, str]:
    """Return the few variables of the job's environment a PostgreSQL client needs."""
    values = {name: os.getenv(name) for name in INHERITED_VARIABLES}
    return {name: value for name, value in values.items() if value is not None}


@dataclass(frozen=True, slots=True)
class _Selection:
    binary: PgBinary
    compression: CompressionChoice


class PgDumper(Dumper):
    """Dump with the newest suitable pg_dump (or the one in `pg_bin_dir`).

    Args:
        credentials: where the password for each dump comes from.
        redactor: learns every password, and masks the children's stderr.
        pg_bin_dir: `[backup] pg_bin_dir`; None searches the usual places and PATH.
        compression: `[backup] compression`, for example `gzip:6` (see compression.py).
        chunk_size: bytes per yielded chunk.
        connect_timeout: seconds libpq waits for the server.
        base_env: the environment the children start from (default: `inherited_env()`).
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
    ) -> None:
        self.credentials = credentials
        self.redactor = redactor
        self.pg_bin_dir = pg_bin_dir
        self.compression = compression
        self.chunk_size = chunk_size
        self.connect_timeout = connect_timeout
        self.base_env = dict(inherited_env() if base_env is None else base_env)
        self._lock = threading.Lock()
        self._selection: _Selection | None = None

    def select(self, server: ServerInfo) -> DumperInfo:
        """Pick pg_dump and its compression for `server`; later dumps use them."""
        binary = select_pg_dump(server, self.pg_bin_dir, self.base_env.get("PATH"))
        selection = _Selection(binary, choose_compression(self.compression, binary, self.base_env))
        with self._lock:
            self._selection = selection
        return DumperInfo(
            version=binary.version,
            archive_format=ARCHIVE_FORMAT,
            compression=selection.compression.description,
        )

    def dump(self, target: ServerTarget, database: str) -> Generator[bytes, None, None]:
        """Stream `pg_dump --format=custom` of `database`; see the Dumper port."""
        selection = self._selected()
        argv = [
            str(selection.binary.path),
            f"--format={ARCHIVE_FORMAT}",
            f"--compress={selection.compression.argument}",
            "--no-password",
            f"--dbname={secret_free_conninfo(target, database)}",
        ]
        yield from stream_child(
            argv,
            self._child_env(target),
            tool="pg_dump",
            redactor=self.redactor,
            chunk_size=self.chunk_size,
            magic=CUSTOM_FORMAT_MAGIC,
        )

    def dump_globals(self, target: ServerTarget) -> Generator[bytes, None, None]:
        """Stream `pg_dumpall --globals-only --no-role-passwords`; see the Dumper port."""
        selection = self._selected()
        pg_dumpall = selection.binary.sibling("pg_dumpall")
        if not pg_dumpall.is_file():
            raise DumpError(f"no pg_dumpall beside {selection.binary.path}")
        # pg_dumpall ignores a dbname here; it connects to postgres, else template1.
        conninfo = secret_free_conninfo(target, "postgres")
        argv = [
            str(pg_dumpall),
            "--globals-only",
            "--no-role-passwords",
            "--no-password",
            f"--dbname={conninfo}",
        ]
        yield from stream_child(
            argv,
            self._child_env(target),
            tool="pg_dumpall",
            redactor=self.redactor,
            chunk_size=self.chunk_size,
        )

    def _selected(self) -> _Selection:
        with self._lock:
            if self._selection is not None:
                return self._selection
        # Without select() there is no server version to check against: take the newest.
        binary = find_pg_dump(self.pg_bin_dir, self.base_env.get("PATH"))
        selection = _Selection(binary, choose_compression(self.compression, binary, self.base_env))
        with self._lock:
            self._selection = self._selection or selection
            return self._selection

    def _child_env(self, target: ServerTarget) -> dict[str, str]:
        try:
            password: SecretStr = self.credentials.password(target)
        except DatabaseError as exc:
            raise DumpError(str(exc)) from None
        self.redactor.add(password, target.secret)
        env = libpq_child_env(self.base_env, target, self.connect_timeout)
        env["PGPASSWORD"] = password.get_secret_value()
        return env
