"""Drill one database of a run: restore it into a scratch database, compare, drop (SPEC 13).

`DrillDatabaseMachine` decrypts (and for a zstd run decompresses, through the one read path of
domain/services/reading.py) the dump into a 0600 scratch file, creates a fresh scratch
database (with the archive's creation options; an existing database of that name is never
touched), restores into it with pg_restore (no owners, no privileges: rows are what is compared),
counts every table's rows the way the backup counted them in the dump's snapshot, and compares
them with the manifest, one `CompareTableMachine` per table, so each mismatch is a line of its
own. The scratch database (if this drill created it) and the scratch file are removed whatever
happened. The scratch database is claimed on its server before it is created and marked with
SCRATCH_NOTE once it is (domain/services/scratch_databases.py), so a drill killed on the way
leaves one that the next drill drops. Failure prefix: `<client> <database>`.
"""

from __future__ import annotations

import logging
from datetime import datetime

from domain.framework.definition import node
from domain.framework.machine import Machine, Step
from domain.framework.slot import Slot
from domain.machines.restore_ports import RestorePorts
from domain.models.manifest import DumpRecord, TableRows
from domain.models.run import StoredRun
from domain.services.scratch import decrypt_to_scratch
from domain.services.scratch_databases import SCRATCH_NOTE
from ports.decryptor import DecryptionKeys
from ports.file_share import FileShare
from ports.local_files import LocalFile
from ports.restorer import RestoreOptions, RestoreTarget, ScratchClaim

logger = logging.getLogger("lts.drill")


class CompareTableMachine(Machine):
    """Compare one table's rows after the restore with what the dump held when it was made."""

    def __init__(
        self, *, prefix: str, table: str, recorded: int | None, restored: int | None
    ) -> None:
        super().__init__()
        self._prefix = prefix
        self.table = table
        self.recorded = recorded
        self.restored = restored

    @property
    def prefix(self) -> str:
        """Return the drill's `<client> <database>`."""
        return self._prefix

    @node(
        entry=True,
        happy=("report_results",),
        unhappy=("report_results",),
        on_exception="report_results",
    )
    def compare_rows(self) -> Step:
        """Pass when the restored table holds exactly the rows the dump held."""
        recorded, restored = self.recorded, self.restored
        if recorded == restored:
            return self.success(self.report_results)
        if restored is None:
            message = f"{self.table} is missing after the restore; the dump held {recorded} rows"
        elif recorded is None:
            message = (
                f"{self.table} holds {restored} rows after the restore; the dump held no such table"
            )
        else:
            message = (
                f"{self.table} has {restored} rows after the restore; the dump held {recorded} "
                "when it was made"
            )
        return self.failure(self.report_results, message)


class DrillDatabaseMachine(Machine):
    """Restore one dump into a fresh scratch database, compare its rows, drop it."""

    scratch = Slot[LocalFile]("decrypt_dump")
    counted = Slot[tuple[TableRows, ...]]("count_rows")

    def __init__(
        self,
        *,
        client: str,
        run: StoredRun,
        record: DumpRecord,
        target: RestoreTarget,
        share: FileShare,
        keys: DecryptionKeys,
        ports: RestorePorts,
    ) -> None:
        super().__init__()
        self._client = client
        self._claim: ScratchClaim | None = None
        self.run = run
        self.record = record
        self.target = target
        self._share = share
        self._keys = keys
        self._ports = ports
        self._created = False
        self.started: datetime = ports.clock.now()
        self.compared = 0
        self.mismatches = 0
        self.cleaned = False
        """Whether the scratch database and file are gone (the drill left nothing behind)."""
        self.passed = False
        """Set by the parent from this drill's results: restored, matched and cleaned up."""

    @property
    def prefix(self) -> str:
        """Return `<client> <database>`."""
        return f"{self._client} {self.record.name}"

    @property
    def database(self) -> str:
        """Return the drilled database's name."""
        return self.record.name

    @node(
        entry=True,
        happy=("create_scratch",),
        unhappy=("remove_plaintext",),
        on_exception="remove_plaintext",
    )
    def decrypt_dump(self) -> Step:
        """Decrypt (and decompress) the dump into a 0600 scratch file, checked on the way."""
        self.scratch, problem = decrypt_to_scratch(
            share=self._share,
            run_dir=self.run.path,
            record=self.record,
            reader=self._ports.plain_reader(self._keys),
            files=self._ports.files,
        )
        if problem is not None:
            return self.failure(self.remove_plaintext, problem)
        return self.success(self.create_scratch)

    @node(happy=("restore_dump",), unhappy=("drop_scratch",), on_exception="drop_scratch")
    def create_scratch(self) -> Step:
        """Claim, create and mark the fresh scratch database; never touch an existing one."""
        restorer = self._ports.restorer
        # Claimed before it exists, marked before any plaintext goes in: should this job be
        # killed, the next drill knows the database for an ended drill's and drops it. Checked
        # under the claim, so no other drill creates it between the check and the creation.
        self._claim = restorer.claim_scratch(self.target)
        if restorer.inspect(self.target).exists:
            return self.failure(
                self.drop_scratch,
                f"the scratch database {self.target.where} exists already; it was not touched",
            )
        properties = restorer.read_properties(self.target, self.scratch.path)
        self._created = True
        lost = restorer.create_database(self.target, properties)
        restorer.mark_database(self.target, SCRATCH_NOTE)
        if lost is not None:
            logger.warning("scratch database %s: %s", self.target.where, lost)
        return self.success(self.restore_dump)

    @node(happy=("count_rows",), unhappy=("drop_scratch",), on_exception="drop_scratch")
    def restore_dump(self) -> Step:
        """Run pg_restore into the scratch database (no owners or privileges needed)."""
        self._ports.restorer.restore(self.target, self.scratch.path, RestoreOptions())
        return self.success(self.count_rows)

    @node(happy=("compare_counts",), unhappy=("drop_scratch",), on_exception="drop_scratch")
    def count_rows(self) -> Step:
        """Count every restored table's rows, as the backup counted them."""
        self.counted = self._ports.restorer.count_rows(self.target)
        return self.success(self.compare_counts)

    @node(happy=("drop_scratch",), unhappy=("drop_scratch",), on_exception="drop_scratch")
    def compare_counts(self) -> Step:
        """Compare every table with the manifest; each mismatch is a line of its own."""
        if self.record.tables is None:
            logger.warning(
                "%s: the manifest recorded no row counts (made before they were); the restore "
                "was drilled, the rows were not compared",
                self.prefix,
            )
            return self.success(self.drop_scratch)
        recorded = {table.qualified: table.rows for table in self.record.tables}
        restored = {table.qualified: table.rows for table in self.counted}
        # A table the dump held no data of (an unlogged table on a standby) restores empty.
        names = sorted(recorded.keys() | {name for name, rows in restored.items() if rows})
        for name in names:
            child = CompareTableMachine(
                prefix=self.prefix,
                table=name,
                recorded=recorded.get(name),
                restored=restored.get(name),
            )
            results = child.execute()
            self.add_results(results)
            self.compared += 1
            self.mismatches += sum(1 for result in results if not result.ok)
        return self.success(self.drop_scratch)

    @node(
        happy=("remove_plaintext",),
        unhappy=("remove_plaintext",),
        on_exception="remove_plaintext",
        cleanup=True,
    )
    def drop_scratch(self) -> Step:
        """Drop the scratch database if this drill created it, then let go of its claim."""
        try:
            if self._created:
                self._ports.restorer.drop_database(self.target)
                self._created = False
        finally:
            # A database that could not be dropped is unclaimed now: the next drill drops it.
            claim, self._claim = self._claim, None
            if claim is not None:
                claim.close()
        return self.success(self.remove_plaintext)

    @node(
        happy=("report_results",),
        unhappy=("report_results",),
        on_exception="report_results",
        cleanup=True,
    )
    def remove_plaintext(self) -> Step:
        """Remove the decrypted scratch file: no plaintext dump stays on disk."""
        scratch = DrillDatabaseMachine.scratch.get(self)
        if scratch is not None:
            self._ports.files.remove(scratch.path)
        self.cleaned = not self._created
        return self.success(self.report_results)
