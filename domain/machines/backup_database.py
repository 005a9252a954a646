"""Back up one database: pg_dump [| zstd] | gpg | share, then judge the dump (SPEC sections 3, 7).

The dump is streamed from the Dumper through the Encryptor straight into the run's partial
directory on the share; nothing plaintext touches a disk. A failure at any point leaves no file
under its final name (FileShare writes are atomic) and is recorded in `record` for the manifest.
What the dump held (its table of contents counts, every table's rows counted in its snapshot) is
added to the record (SPEC 13); when only the counting failed, the dump is kept without them and
the failure reported. Failure prefix: `<client> <host> <database>`.
"""

from __future__ import annotations

import logging
from contextlib import closing
from dataclasses import dataclass
from pathlib import PurePosixPath

from domain.framework.definition import node
from domain.framework.machine import Machine, Step
from domain.framework.slot import Slot
from domain.models.manifest import DumpRecord, DumpStatus
from domain.models.policy import BackupPolicy
from domain.rules.naming import compressed_file, dump_file
from domain.services.storing import failed_record, store_dump
from ports.clock import Clock
from ports.database import DatabaseInfo, ServerTarget
from ports.dumper import DatabaseDump, DumpTool
from ports.encryptor import Recipients
from ports.errors import LtsError
from ports.file_share import FileShare

logger = logging.getLogger("lts.backup")


@dataclass(frozen=True, slots=True)
class PreviousDump:
    """The same database's dump in the newest earlier run, for the shrink check."""

    run_id: str
    bytes: int


class BackupDatabaseMachine(Machine):
    """Dump, encrypt and store one database, then check the result."""

    record = Slot[DumpRecord]("dump_database")
    """What the manifest says of this database: stored, or failed and why."""
    dump = Slot[DatabaseDump]("dump_database")

    def __init__(
        self,
        *,
        client: str,
        target: ServerTarget,
        database: DatabaseInfo,
        run_dir: PurePosixPath,
        share: FileShare,
        tool: DumpTool,
        recipients: Recipients,
        clock: Clock,
        policy: BackupPolicy,
        previous: PreviousDump | None = None,
        databases_in_run: int = 1,
    ) -> None:
        super().__init__()
        self._client = client
        self._target = target
        self._database = database
        self._run_dir = run_dir
        self._share = share
        self._tool = tool
        self._recipients = recipients
        self._clock = clock
        self._policy = policy
        self._previous = previous
        self._databases_in_run = databases_in_run

    @property
    def prefix(self) -> str:
        """Return `<client> <host> <database>`."""
        return f"{self._client} {self._target.host} {self._database.name}"

    @property
    def database(self) -> str:
        """Return the name of the database this machine backs up."""
        return self._database.name

    @node(
        entry=True,
        happy=("record_counts",),
        unhappy=("report_results",),
        on_exception="report_results",
    )
    def dump_database(self) -> Step:
        """Stream pg_dump (through zstd when it compresses) through gpg onto the share."""
        name = self._database.name
        compression = self._tool.info.compression
        path = self._run_dir / compressed_file(dump_file(name), compression)
        started = self._clock.now()
        try:
            self.dump = self._tool.dump(self._target, name, databases_in_run=self._databases_in_run)
        except LtsError as exc:
            self.record = failed_record(
                name=name,
                path=path,
                error=exc,
                started=started,
                clock=self._clock,
                compression=compression,
            )
            return self.failure(self.report_results, self.record.error)
        try:
            self.record = store_dump(
                name=name,
                path=path,
                source=self.dump.stream,
                recipients=self._recipients,
                share=self._share,
                clock=self._clock,
                compression=compression,
            )
        except BaseException:
            self.dump.close()
            raise
        if self.record.status is DumpStatus.FAILED:
            self.dump.close()
            return self.failure(self.report_results, self.record.error)
        return self.success(self.record_counts)

    @node(happy=("check_dump",), unhappy=("check_dump",), on_exception="check_dump")
    def record_counts(self) -> Step:
        """Add the dump's TOC counts and row counts to its record; end its snapshot.

        A failure here keeps the dump (it is good): only what it holds is not recorded.
        """
        with closing(self.dump):
            facts = self.dump.facts()
        tables = list(facts.tables) if facts.tables is not None else None
        self.record = self.record.model_copy(
            update={
                "toc_entries": facts.toc_entries,
                "table_data_entries": facts.table_data_entries,
                "large_objects": facts.large_objects,
                "tables": tables,
            }
        )
        if facts.count_error is not None:
            return self.failure(
                self.check_dump,
                "the dump is kept, but its row counts were not recorded (a drill cannot compare "
                f"them): {facts.count_error}",
            )
        return self.success(self.check_dump)

    @node(
        happy=("compare_with_previous",), unhappy=("report_results",), on_exception="report_results"
    )
    def check_dump(self) -> Step:
        """Refuse a near-empty dump: it cannot hold a database."""
        record = self.record
        if record.bytes < self._policy.min_dump_bytes:
            message = f"dump is only {record.bytes} bytes; an empty or near-empty dump is unusable"
            self.record = record.model_copy(update={"status": DumpStatus.FAILED, "error": message})
            return self.failure(self.report_results, message)
        return self.success(self.compare_with_previous)

    @node(happy=("report_results",), unhappy=("report_results",), on_exception="report_results")
    def compare_with_previous(self) -> Step:
        """Report a dump much smaller than the same database's previous one (it is still kept)."""
        record = self.record
        previous = self._previous
        ratio = self._policy.shrink_warning_ratio
        if previous is not None and previous.bytes > 0 and record.bytes < previous.bytes * ratio:
            return self.failure(
                self.report_results,
                f"dump is {record.bytes} bytes, less than {ratio:.0%} of the previous dump "
                f"({previous.bytes} bytes in run {previous.run_id}); the dump is kept, "
                "check that no data was lost",
            )
        return self.success(self.report_results)
