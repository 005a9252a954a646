"""PgArchiveReader: read custom-format archives with pg_restore, without a server or a disk.

`pg_restore --list` and `pg_restore --file=-` read the archive from their stdin, fed from the
given stream; the stream is read to its end even when pg_restore stops early (`--list` reads only
the table of contents), so a failure anywhere in it (gpg finding the data damaged) is raised as it
is. The tools are the newest installed client (`client_tools` with no server): a newer pg_restore
reads the archives of older pg_dumps. Tested by tests/contract/test_archive_reader.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from adapters.postgres.tools import ClientToolsError, client_tools
from adapters.process import (
    CHUNK_SIZE,
    ChildFailure,
    ProcessStream,
    Stage,
    child_env,
    close_source,
    collect,
    inherited_env,
)
from domain.models.redaction import Redactor
from ports.archive_reader import ArchiveListing, ArchiveReader
from ports.errors import ArchiveError


class PgArchiveReader(ArchiveReader):
    """List and convert archives with the newest installed pg_restore.

    Args:
        redactor: masks pg_restore's stderr.
        pg_bin_dir: `[backup] pg_bin_dir`; None searches the usual places and PATH.
        chunk_size: the most bytes per chunk of `to_sql`.
        base_env: the environment children start from (default: `inherited_env()`).
    """

    def __init__(
        self,
        *,
        redactor: Redactor,
        pg_bin_dir: Path | None = None,
        chunk_size: int = CHUNK_SIZE,
        base_env: Mapping[str, str] | None = None,
    ) -> None:
        self.redactor = redactor
        self.pg_bin_dir = pg_bin_dir
        self.chunk_size = chunk_size
        self.base_env = dict(inherited_env() if base_env is None else base_env)

    def list_archive(self, archive: Iterable[bytes]) -> ArchiveListing:
        """Run `pg_restore --list` on the stream; see the ArchiveReader port."""
        stage = self._stage(["--list"], "pg_restore --list", archive)
        output = collect(stage, archive).stdout.decode("utf-8", errors="replace")
        entries = [
            line for line in output.splitlines() if line.strip() and not line.startswith(";")
        ]
        if not entries:
            raise ArchiveError("pg_restore --list found no entries in the archive")
        return ArchiveListing(
            entries=len(entries), tables=sum(1 for line in entries if " TABLE DATA " in line)
        )

    def to_sql(self, archive: Iterable[bytes]) -> ProcessStream:
        """Return the stream of `pg_restore --file=-` of the archive: plain SQL."""
        stage = self._stage(["--file=-"], "pg_restore -f", archive)
        return ProcessStream([stage], source=archive, drain_source=True, chunk_size=self.chunk_size)

    def _stage(self, args: list[str], what: str, archive: Iterable[bytes]) -> Stage:
        try:
            tools = client_tools(None, self.pg_bin_dir, self.base_env.get("PATH"))
            pg_restore = tools.path("pg_restore")
        except ClientToolsError as exc:
            # The archive will never be read: release what it holds (a gpg child).
            close_source(archive)
            raise ArchiveError(str(exc)) from None

        def failed(failure: ChildFailure) -> ArchiveError:
            if failure.returncode is None:
                return ArchiveError(failure.message)
            return ArchiveError(f"{what} failed (exit {failure.returncode}): {failure.detail}")

        return Stage(
            (str(pg_restore), *args),
            child_env(self.base_env, LC_ALL="C"),
            "pg_restore",
            failed,
            self.redactor,
        )
