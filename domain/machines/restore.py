"""Restore one database of a run into a target database (SPEC section 5, `restore`).

The dump is decrypted (and, for a zstd run's file, decompressed: domain/services/reading.py)
into a 0600 scratch file under the work root (pg_restore --jobs needs a seekable file), restored
with pg_restore, and the scratch file is removed after success and failure alike; the private key
lives in a throw-away keyring closed at the end. A non-empty target is refused without `--clean`,
before anything is decrypted or changed. A target database this run created is dropped again
when pg_restore fails, so a re-run is never blocked.

The database itself comes back as dumped, under the target name (SPEC 13): it is created with the
archive's CREATE DATABASE options, and after its contents the archive's database-level entries
are applied (comment, settings, per-role settings, privileges, security labels, and with
`--keep-owners` the owner). Whatever does not come back is listed in the summary line and the
log: a statement naming a role or tablespace the target server lacks, the owner without
`--keep-owners`, options the server cannot create the database with. A database-level statement
that fails for any other reason, or that is not understood, is a Failure. Failure prefix:
`<client> <database>`.

No lock is taken: a restore only reads the share, and holding the client's lock through a
long restore would make the scheduled backup fail.
"""

from __future__ import annotations

import logging
from contextlib import closing
from datetime import datetime

from domain.framework.definition import node
from domain.framework.machine import Step
from domain.framework.results import Result, failures
from domain.framework.slot import Slot
from domain.machines.decrypting import DecryptingMachine
from domain.machines.mount import ClientContext
from domain.machines.restore_ports import RestorePorts, restore_target
from domain.models.manifest import DumpStatus
from domain.models.redaction import Redactor
from domain.models.restore_request import RestoreRequest
from domain.services.reading import PlainReader, open_plain
from domain.services.run_choice import ChosenDump, choose_dump
from domain.services.scratch import decrypt_to_scratch
from ports.config_source import ConfigSource
from ports.local_files import LocalFile
from ports.restorer import (
    DatabaseProperties,
    NotRestored,
    PropertyKind,
    RestoreOptions,
    TargetState,
)

logger = logging.getLogger("lts.restore")


class RestoreDatabaseMachine(DecryptingMachine):
    """Decrypt one database's dump and restore it into a target database with pg_restore."""

    started = Slot[datetime]("load_private_key")
    dump = Slot[ChosenDump]("find_run")
    state = Slot[TargetState]("check_target")
    scratch = Slot[LocalFile]("decrypt_dump")
    properties = Slot[DatabaseProperties]("read_properties")
    tables = Slot[int]("count_tables")
    finished = Slot[datetime]("count_tables")

    def __init__(
        self,
        context: ClientContext,
        *,
        ports: RestorePorts,
        restore_source: ConfigSource,
        request: RestoreRequest,
        redactor: Redactor,
    ) -> None:
        super().__init__(context, ports=ports, restore_source=restore_source, redactor=redactor)
        self._request = request
        self._target = restore_target(context.config, request)
        self._created = False
        self.applied = 0
        """Database-level statements applied."""
        self.not_restored: list[NotRestored] = []
        """Database-level properties that did not come back, for the summary and the log."""

    @property
    def prefix(self) -> str:
        """Return `<client> <database>`."""
        return f"{self._config.client_name} {self._request.database}"

    @property
    def _reader(self) -> PlainReader:
        return self._ports.plain_reader(self.keys)

    @node(
        entry=True,
        happy=("find_run", "report_results"),
        unhappy=("report_results",),
        on_exception="report_results",
    )
    def load_private_key(self) -> Step:
        """Read the restore config and load its private key (a child machine)."""
        self.started = self._ports.clock.now()
        return self._load_keys(self.find_run)

    @node(happy=("check_target",), unhappy=("dispose_key",), on_exception="dispose_key")
    def find_run(self) -> Step:
        """Choose the run (or the newest with an ok dump of the database) and its dump."""
        self.dump = choose_dump(self._catalog, self._request.run, self._request.database)
        logger.info("restoring %s from run %s", self._request.database, self.dump.label)
        return self.success(self.check_target)

    @node(happy=("decrypt_dump",), unhappy=("dispose_key",), on_exception="dispose_key")
    def check_target(self) -> Step:
        """Refuse a non-empty target database unless --clean was given; change nothing."""
        self.state = self._ports.restorer.inspect(self._target)
        if self.state.exists and not self.state.empty and not self._request.clean:
            return self.failure(
                self.dispose_key,
                f"target database {self._target.where} is not empty "
                f"({self.state.objects} objects); nothing was changed, pass --clean to replace "
                "its contents",
            )
        return self.success(self.decrypt_dump)

    @node(
        happy=("restore_globals",), unhappy=("remove_plaintext",), on_exception="remove_plaintext"
    )
    def decrypt_dump(self) -> Step:
        """Decrypt (and decompress) the dump into a 0600 scratch file, checked on the way."""
        self.scratch, problem = decrypt_to_scratch(
            share=self._share,
            run_dir=self.dump.run.path,
            record=self.dump.record,
            reader=self._reader,
            files=self._ports.files,
        )
        if problem is not None:
            return self.failure(self.remove_plaintext, problem)
        return self.success(self.restore_globals)

    @node(happy=("read_properties",), unhappy=("read_properties",), on_exception="read_properties")
    def restore_globals(self) -> Step:
        """With --globals, run the run's roles and tablespaces SQL on the target server.

        Only "already exists" is tolerated; any other error is this node's failure (the restore
        goes on: the database may not need what failed).
        """
        if not self._request.globals:
            return self.success(self.read_properties)
        dump = self.dump
        record = dump.manifest.globals
        if record is None or record.status is not DumpStatus.OK:
            return self.failure(
                self.read_properties, f"run {dump.run.run_id} has no usable globals"
            )
        # The manifest names the file: a rekeyed run's globals carry the new key's id.
        opened = open_plain(self._share, dump.run.path / record.file, record, self._reader)
        with closing(opened.plain) as stream:
            outcome = self._ports.restorer.apply_globals(self._target.server, stream)
        problem = opened.stored.mismatch(record)
        if problem is not None:
            return self.failure(self.read_properties, f"{record.file} {problem}")
        logger.info("globals applied; %d roles or tablespaces existed already", outcome.existing)
        if outcome.errors:
            count = len(outcome.errors)
            return self.failure(
                self.read_properties,
                f"{count} statement{'s' if count != 1 else ''} of {record.file} failed (only "
                f'"already exists" is expected): {"; ".join(outcome.errors)}',
            )
        return self.success(self.read_properties)

    @node(
        happy=("create_database",), unhappy=("remove_plaintext",), on_exception="remove_plaintext"
    )
    def read_properties(self) -> Step:
        """Read the archive's database-level entries (what `pg_restore --create` applies)."""
        self.properties = self._ports.restorer.read_properties(self._target, self.scratch.path)
        return self.success(self.create_database)

    @node(
        happy=("restore_database",), unhappy=("remove_plaintext",), on_exception="remove_plaintext"
    )
    def create_database(self) -> Step:
        """Create the missing target database with the archive's options (encoding, locale)."""
        if not self.state.exists:
            lost = self._ports.restorer.create_database(self._target, self.properties)
            self._created = True
            if lost is not None:
                self._lost(lost)
        return self.success(self.restore_database)

    @node(
        happy=("apply_properties",),
        unhappy=("drop_failed_target",),
        on_exception="drop_failed_target",
    )
    def restore_database(self) -> Step:
        """Run pg_restore --jobs N from the scratch file (no owners unless --keep-owners)."""
        options = RestoreOptions(
            jobs=self._request.jobs,
            clean=self._request.clean and self.state.exists,
            keep_owners=self._request.keep_owners,
        )
        self._ports.restorer.restore(self._target, self.scratch.path, options)
        return self.success(self.apply_properties)

    @node(happy=("count_tables",), unhappy=("count_tables",), on_exception="count_tables")
    def apply_properties(self) -> Step:
        """Apply the database's comment, settings, privileges (and owner with --keep-owners).

        A statement naming a role or tablespace the target lacks is listed, not a failure; any
        other failing statement, and any statement not understood, is this node's failure.
        """
        properties = self.properties
        wanted = []
        for statement in properties.statements:
            if statement.kind is PropertyKind.OWNER and not self._request.keep_owners:
                self._lost(
                    NotRestored(statement.shown, "the owner is kept only with --keep-owners")
                )
            else:
                wanted.append(statement)
        outcome = self._ports.restorer.apply_properties(self._target, wanted)
        self.applied = outcome.applied
        for lost in outcome.missing:
            self._lost(lost)
        problems = [
            *outcome.failed,
            *(NotRestored(sql, "not understood") for sql in properties.unknown),
        ]
        for lost in problems:
            self._lost(lost)
        if problems:
            return self.failure(
                self.count_tables,
                f"{len(problems)} database-level propert{'ies' if len(problems) != 1 else 'y'} "
                f"of {properties.source or self._request.database} not brought back into "
                f"{self._target.database}: {'; '.join(str(p) for p in problems)}",
            )
        return self.success(self.count_tables)

    @node(
        happy=("remove_plaintext",),
        unhappy=("remove_plaintext",),
        on_exception="remove_plaintext",
        cleanup=True,
    )
    def drop_failed_target(self) -> Step:
        """Drop the target database again if this run created it, so a re-run is not blocked."""
        if self._created:
            self._ports.restorer.drop_database(self._target)
            self._created = False
        return self.success(self.remove_plaintext)

    @node(
        happy=("remove_plaintext",), unhappy=("remove_plaintext",), on_exception="remove_plaintext"
    )
    def count_tables(self) -> Step:
        """Count the tables now in the target database, for the summary."""
        self.tables = self._ports.restorer.count_tables(self._target)
        self.finished = self._ports.clock.now()
        return self.success(self.remove_plaintext)

    @node(
        happy=("dispose_key",), unhappy=("dispose_key",), on_exception="dispose_key", cleanup=True
    )
    def remove_plaintext(self) -> Step:
        """Remove the decrypted scratch file: no plaintext dump stays on disk."""
        scratch = RestoreDatabaseMachine.scratch.get(self)
        if scratch is not None:
            self._ports.files.remove(scratch.path)
        return self.success(self.dispose_key)

    def summary(self, results: list[Result]) -> str:
        """Return one line: run, database, target, tables restored and time, or what failed.

        Whatever of the database itself did not come back is listed at its end.
        """
        failed = len(failures(results))
        head = f"restore {self._config.client_name}: {self._request.database}"
        dump = RestoreDatabaseMachine.dump.get(self)
        if dump is not None:
            head += f" from run {dump.label}"
        tables = RestoreDatabaseMachine.tables.get(self)
        if tables is None:
            return f"{head} into {self._target.where} not restored, {failed} failures"
        seconds = (self.finished - self.started).total_seconds()
        line = f"{head} into {self._target.where}: {tables} tables restored in {seconds:.1f} s"
        line += f", {self.applied} database-level properties applied"
        if self.not_restored:
            line += f"; not brought back: {'; '.join(str(lost) for lost in self.not_restored)}"
        if failed:
            line += f"; {failed} failures"
        return line

    def _lost(self, lost: NotRestored) -> None:
        logger.warning("not brought back into %s: %s", self._target.where, lost)
        self.not_restored.append(lost)
