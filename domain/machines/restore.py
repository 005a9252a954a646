"""Restore one database of a run into a target database (SPEC section 5, `restore`).

The dump is decrypted (and, for a `*.zst.gpg` file, decompressed: domain/services/reading.py)
into a 0600 scratch file under the work root (pg_restore --jobs needs a seekable file), restored
with pg_restore, and the scratch file is removed after success and failure alike; the private key
lives in a throw-away keyring closed at the end. A non-empty target is refused without `--clean`,
before anything is decrypted or changed. A target database this run created is dropped again
when pg_restore fails, so a re-run is never blocked. Failure prefix: `<client> <database>`.

No lock is taken: a restore only reads the share, and holding the client's lock through a
long restore would make the scheduled backup fail.
"""

from __future__ import annotations

import logging
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime

from pydantic import SecretStr

from domain.framework.definition import node
from domain.framework.machine import Machine, Step
from domain.framework.results import Result, failures
from domain.framework.slot import Slot
from domain.machines.mount import ClientContext
from domain.machines.private_key import LoadPrivateKeyMachine
from domain.models.client_config import ClientConfig
from domain.models.manifest import DumpStatus
from domain.models.redaction import Redactor
from domain.models.restore_request import RestoreRequest
from domain.services.catalog import RunCatalog
from domain.services.configs import server_target
from domain.services.reading import PlainReader, open_plain
from domain.services.run_choice import ChosenDump, choose_dump
from ports.archive_reader import ArchiveReader
from ports.clock import Clock
from ports.config_source import ConfigSource
from ports.database import ServerTarget
from ports.decompressor import Decompressor
from ports.decryptor import DecryptionKeys, Decryptor
from ports.local_files import LocalFile, LocalFiles
from ports.restorer import OPERATOR_AUTH, RestoreOptions, Restorer, RestoreTarget, TargetState

logger = logging.getLogger("lts.restore")

OPERATOR_SSLMODE = "prefer"


@dataclass(frozen=True, slots=True)
class RestorePorts:
    """The ports the restore, decrypt and verify machines talk through, besides the share."""

    decryptor: Decryptor
    restorer: Restorer
    archives: ArchiveReader
    files: LocalFiles
    clock: Clock
    decompressor: Decompressor

    def plain_reader(self, keys: DecryptionKeys) -> PlainReader:
        """Return what reads stored files back to plaintext with `keys`."""
        return PlainReader(keys, self.decompressor)


def restore_target(config: ClientConfig, request: RestoreRequest) -> RestoreTarget:
    """Return the target: the client's server and login, or the operator's choice."""
    if not request.other_target:
        return RestoreTarget(server_target(config), request.target_database)
    server = ServerTarget(
        host=request.target_host or config.postgresql_host,
        port=request.target_port or config.postgresql_port,
        user=request.target_user or config.login_user,
        auth=OPERATOR_AUTH,
        secret=SecretStr(""),
        sslmode=OPERATOR_SSLMODE,
    )
    return RestoreTarget(server, request.target_database)


class RestoreDatabaseMachine(Machine):
    """Decrypt one database's dump and restore it into a target database with pg_restore."""

    started = Slot[datetime]("load_private_key")
    keys = Slot[DecryptionKeys]("load_private_key")
    dump = Slot[ChosenDump]("find_run")
    state = Slot[TargetState]("check_target")
    scratch = Slot[LocalFile]("decrypt_dump")
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
        super().__init__()
        self._config = context.config
        self._catalog = RunCatalog(context.share)
        self._share = context.share
        self._ports = ports
        self._source = restore_source
        self._request = request
        self._redactor = redactor
        self._target = restore_target(context.config, request)
        self._created = False

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
        loader = LoadPrivateKeyMachine(
            prefix=self.prefix,
            source=self._source,
            decryptor=self._ports.decryptor,
            redactor=self._redactor,
        )
        self.add_results(loader.execute())
        if loader.loaded is None:
            return self.success(self.report_results)
        self.keys = loader.loaded
        return self.success(self.find_run)

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
        dump = self.dump
        opened = open_plain(
            self._share, dump.run.path / dump.record.file, dump.record, self._reader
        )
        with closing(opened.plain) as stream:
            self.scratch = self._ports.files.write_scratch(stream, suffix=".dump")
        problem = opened.stored.mismatch(dump.record)
        if problem is not None:
            return self.failure(self.remove_plaintext, f"{dump.record.file} {problem}")
        return self.success(self.restore_globals)

    @node(happy=("create_database",), unhappy=("create_database",), on_exception="create_database")
    def restore_globals(self) -> Step:
        """With --globals, run the run's roles and tablespaces SQL on the target server."""
        if not self._request.globals:
            return self.success(self.create_database)
        dump = self.dump
        record = dump.manifest.globals
        if record is None or record.status is not DumpStatus.OK:
            return self.failure(
                self.create_database, f"run {dump.run.run_id} has no usable globals"
            )
        opened = open_plain(self._share, dump.run.path / record.file, record, self._reader)
        with closing(opened.plain) as stream:
            failed = self._ports.restorer.apply_globals(self._target.server, stream)
        problem = opened.stored.mismatch(record)
        if problem is not None:
            return self.failure(self.create_database, f"{record.file} {problem}")
        # Roles that already exist fail to be created; that is expected, not a failure.
        logger.info("globals applied; %d statements failed (existing roles)", failed)
        return self.success(self.create_database)

    @node(
        happy=("restore_database",), unhappy=("remove_plaintext",), on_exception="remove_plaintext"
    )
    def create_database(self) -> Step:
        """Create the target database when it does not exist."""
        if not self.state.exists:
            self._ports.restorer.create_database(self._target)
            self._created = True
        return self.success(self.restore_database)

    @node(
        happy=("count_tables",), unhappy=("drop_failed_target",), on_exception="drop_failed_target"
    )
    def restore_database(self) -> Step:
        """Run pg_restore --jobs N from the scratch file (no owners unless --keep-owners)."""
        options = RestoreOptions(
            jobs=self._request.jobs,
            clean=self._request.clean and self.state.exists,
            keep_owners=self._request.keep_owners,
        )
        self._ports.restorer.restore(self._target, self.scratch.path, options)
        return self.success(self.count_tables)

    @node(
        happy=("remove_plaintext",), unhappy=("remove_plaintext",), on_exception="remove_plaintext"
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

    @node(happy=("dispose_key",), unhappy=("dispose_key",), on_exception="dispose_key")
    def remove_plaintext(self) -> Step:
        """Remove the decrypted scratch file: no plaintext dump stays on disk."""
        scratch = RestoreDatabaseMachine.scratch.get(self)
        if scratch is not None:
            self._ports.files.remove(scratch.path)
        return self.success(self.dispose_key)

    @node(happy=("report_results",), unhappy=("report_results",), on_exception="report_results")
    def dispose_key(self) -> Step:
        """Remove the throw-away keyring holding the private key."""
        self.keys.close()
        return self.success(self.report_results)

    def summary(self, results: list[Result]) -> str:
        """Return one line: run, database, target, tables restored and time, or what failed."""
        failed = len(failures(results))
        head = f"restore {self._config.client_name}: {self._request.database}"
        dump = RestoreDatabaseMachine.dump.get(self)
        if dump is not None:
            head += f" from run {dump.label}"
        tables = RestoreDatabaseMachine.tables.get(self)
        if tables is None or failed:
            return f"{head} into {self._target.where} not restored, {failed} failures"
        seconds = (self.finished - self.started).total_seconds()
        return f"{head} into {self._target.where}: {tables} tables restored in {seconds:.1f} s"
