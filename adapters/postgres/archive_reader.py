"""PgArchiveReader: read custom-format archives with pg_restore, without a server or a disk.

`check_archive` feeds the stream to `pg_restore --file=/dev/null`, which reads and decompresses
every data block as a restore would (an archive cut short or damaged after its table of contents
fails here), while a tap (`tee` into `pg_restore --list`, adapters/process/tap.py) reads the table
of contents from a copy. `to_sql` is `pg_restore --file=-`. The stream is read to its end even
when pg_restore stops early, so a failure anywhere in it (gpg finding the data damaged) is raised
as it is. The tools are the newest installed client (`client_tools` with no server): a newer
pg_restore reads the archives of older pg_dumps. Tested by tests/contract/test_archive_reader.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from adapters.postgres.listing import ListingError, parse_listing
from adapters.postgres.tools import ClientToolsError, client_tools
from adapters.process import (
    CHUNK_SIZE,
    ChildFailure,
    ProcessStream,
    Stage,
    Tap,
    child_env,
    close_source,
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

    def check_archive(self, archive: Iterable[bytes]) -> ArchiveListing:
        """Read the whole stream with pg_restore; see the ArchiveReader port."""
        pg_restore = self._pg_restore(archive)
        found: list[ArchiveListing] = []

        def read_listing(output: bytes) -> None:
            try:
                found.append(parse_listing(output.decode("utf-8", errors="replace")))
            except ListingError as exc:
                raise ArchiveError(str(exc)) from None

        lister = self._stage(pg_restore, ["--list"], "pg_restore --list")
        # cat only hands the stream to tee, which copies it to the lister (see tap.py).
        copier = Stage(
            ("cat",),
            self._env,
            "cat",
            _failed("reading the archive"),
            self.redactor,
            tap=Tap(lister, read_listing),
        )
        reader = self._stage(pg_restore, [f"--file={os.devnull}"], "pg_restore")
        stream = ProcessStream(
            [copier, reader], source=archive, drain_source=True, chunk_size=self.chunk_size
        )
        try:
            for _ in stream:
                pass
        finally:
            stream.close()
        return found[0]

    def to_sql(self, archive: Iterable[bytes]) -> ProcessStream:
        """Return the stream of `pg_restore --file=-` of the archive: plain SQL."""
        stage = self._stage(self._pg_restore(archive), ["--file=-"], "pg_restore -f")
        return ProcessStream([stage], source=archive, drain_source=True, chunk_size=self.chunk_size)

    @property
    def _env(self) -> dict[str, str]:
        return child_env(self.base_env, LC_ALL="C")

    def _pg_restore(self, archive: Iterable[bytes]) -> str:
        try:
            tools = client_tools(None, self.pg_bin_dir, self.base_env.get("PATH"))
            return str(tools.path("pg_restore"))
        except ClientToolsError as exc:
            # The archive will never be read: release what it holds (a gpg child).
            close_source(archive)
            raise ArchiveError(str(exc)) from None

    def _stage(self, pg_restore: str, args: list[str], what: str) -> Stage:
        return Stage((pg_restore, *args), self._env, "pg_restore", _failed(what), self.redactor)


def _failed(what: str) -> Callable[[ChildFailure], ArchiveError]:
    def failed(failure: ChildFailure) -> ArchiveError:
        if failure.returncode is None:
            return ArchiveError(failure.message)
        return ArchiveError(f"{what} failed (exit {failure.returncode}): {failure.detail}")

    return failed
