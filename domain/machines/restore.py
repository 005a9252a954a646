"""Restore one database of a run into a target database (SPEC section 5, `restore`).

The dump is decrypted into a 0600 scratch file under the work root (pg_restore --jobs needs a
seekable file), restored with pg_restore, and the scratch file is removed after success and
failure alike; the private key lives in a throw-away keyring disposed at the end. A non-empty
target is refused without `--clean`, before anything is decrypted or changed. A target database
this run created is dropped again when pg_restore fails, so a re-run is never blocked.
Failure prefix: `<client> <database>`.

No lock is taken: a restore only reads the share, and holding the client's lock through a
long restore would make the scheduled backup fail.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime

from pydantic import SecretStr

from domain.framework.definition import node
from domain.framework.machine import Machine, Step
from domain.framework.results import Result, failures
from domain.machines.backup import server_target
from domain.machines.catalog import RunCatalog
from domain.machines.mount import ClientContext
from domain.machines.restore_support import (
    ChosenDump,
    HashingReader,
    choose_dump,
    read_restore_config,
)
from domain.models.client_config import ClientConfig
from domain.models.manifest import DumpStatus
from domain.models.redaction import Redactor
from domain.models.restore_config import RestoreConfig, RestoreConfigError
from domain.models.restore_request import RestoreRequest
from domain.rules.naming import GLOBALS_FILE
from ports.clock import Clock
from ports.config_source import ConfigSource
from ports.database import ServerTarget
from ports.decryptor import Decryptor
from ports.local_files import LocalFile, LocalFiles
from ports.restorer import OPERATOR_AUTH, RestoreOptions, Restorer, RestoreTarget, TargetState

logger = logging.getLogger("lts.restore")

OPERATOR_SSLMODE = "prefer"


@dataclass(frozen=True, slots=True)
class RestorePorts:
    """The ports the restore, decrypt and verify machines talk through, besides the share."""

    decryptor: Decryptor
    restorer: Restorer
    files: LocalFiles
    clock: Clock


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
        self._restore_config: RestoreConfig | None = None
        self._started: datetime | None = None
        self._finished: datetime | None = None
        self._dump: ChosenDump | None = None
        self._state: TargetState | None = None
        self._plain: LocalFile | None = None
        self._created = False
        self._tables: int | None = None

    @property
    def prefix(self) -> str:
        """Return `<client> <database>`."""
        return f"{self._config.client_name} {self._request.database}"

    @node(
        entry=True, happy=("load_key",), unhappy=("report_results",), on_exception="report_results"
    )
    def read_restore_config(self) -> Step:
        """Read the private key and its passphrase from the restore vault."""
        self._started = self._ports.clock.now()
        try:
            self._restore_config = read_restore_config(self._source, self._redactor)
        except RestoreConfigError as exc:
            return self.failure(self.report_results, f"invalid restore config: {exc}")
        return self.success(self.load_key)

    @node(happy=("find_run",), unhappy=("dispose_key",), on_exception="dispose_key")
    def load_key(self) -> Step:
        """Import the private key into a throw-away keyring and check the passphrase."""
        config = self._loaded_config()
        key = self._ports.decryptor.load_key(config.key_bytes, config.private_key_passphrase)
        logger.info("private key %s loaded", key.fingerprint)
        return self.success(self.find_run)

    @node(happy=("check_target",), unhappy=("dispose_key",), on_exception="dispose_key")
    def find_run(self) -> Step:
        """Choose the run (or the newest with an ok dump of the database) and its dump."""
        self._dump = choose_dump(self._catalog, self._request.run, self._request.database)
        logger.info("restoring %s from run %s", self._request.database, self._dump.label)
        return self.success(self.check_target)

    @node(happy=("decrypt_dump",), unhappy=("dispose_key",), on_exception="dispose_key")
    def check_target(self) -> Step:
        """Refuse a non-empty target database unless --clean was given; change nothing."""
        self._state = self._ports.restorer.inspect(self._target)
        if self._state.exists and not self._state.empty and not self._request.clean:
            return self.failure(
                self.dispose_key,
                f"target database {self._target.where} is not empty "
                f"({self._state.objects} objects); nothing was changed, pass --clean to replace "
                "its contents",
            )
        return self.success(self.decrypt_dump)

    @node(
        happy=("restore_globals",), unhappy=("remove_plaintext",), on_exception="remove_plaintext"
    )
    def decrypt_dump(self) -> Step:
        """Decrypt the stored dump into a 0600 scratch file, checking it against the manifest."""
        dump = self._chosen()
        reader = HashingReader(self._share.read_stream(dump.run.path / dump.record.file))
        stream = self._ports.decryptor.decrypt(reader)
        with closing(stream):
            self._plain = self._ports.files.write_scratch(stream, suffix=".dump")
        problem = reader.mismatch(dump.record)
        if problem is not None:
            return self.failure(self.remove_plaintext, f"{dump.record.file} {problem}")
        return self.success(self.restore_globals)

    @node(happy=("create_database",), unhappy=("create_database",), on_exception="create_database")
    def restore_globals(self) -> Step:
        """With --globals, run the run's roles and tablespaces SQL on the target server."""
        if not self._request.globals:
            return self.success(self.create_database)
        dump = self._chosen()
        record = dump.manifest.globals
        if record is None or record.status is not DumpStatus.OK:
            return self.failure(
                self.create_database, f"run {dump.run.run_id} has no usable globals"
            )
        reader = HashingReader(self._share.read_stream(dump.run.path / GLOBALS_FILE))
        stream = self._ports.decryptor.decrypt(reader)
        with closing(stream):
            failed = self._ports.restorer.apply_globals(self._target.server, stream)
        problem = reader.mismatch(record)
        if problem is not None:
            return self.failure(self.create_database, f"{GLOBALS_FILE} {problem}")
        # Roles that already exist fail to be created; that is expected, not a failure.
        logger.info("globals applied; %d statements failed (existing roles)", failed)
        return self.success(self.create_database)

    @node(
        happy=("restore_database",), unhappy=("remove_plaintext",), on_exception="remove_plaintext"
    )
    def create_database(self) -> Step:
        """Create the target database when it does not exist."""
        if not self._target_state().exists:
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
            clean=self._request.clean and self._target_state().exists,
            keep_owners=self._request.keep_owners,
        )
        self._ports.restorer.restore(self._target, self._scratch().path, options)
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
        self._tables = self._ports.restorer.count_tables(self._target)
        self._finished = self._ports.clock.now()
        return self.success(self.remove_plaintext)

    @node(happy=("dispose_key",), unhappy=("dispose_key",), on_exception="dispose_key")
    def remove_plaintext(self) -> Step:
        """Remove the decrypted scratch file: no plaintext dump stays on disk."""
        if self._plain is not None:
            self._ports.files.remove(self._plain.path)
            self._plain = None
        return self.success(self.dispose_key)

    @node(happy=("report_results",), unhappy=("report_results",), on_exception="report_results")
    def dispose_key(self) -> Step:
        """Remove the throw-away keyring holding the private key."""
        self._ports.decryptor.dispose()
        return self.success(self.report_results)

    # ------------------------------------------------------------------ helpers

    def summary(self, results: list[Result]) -> str:
        """Return one line: run, database, target, tables restored and time, or what failed."""
        failed = len(failures(results))
        head = f"restore {self._config.client_name}: {self._request.database}"
        if self._dump is not None:
            head += f" from run {self._dump.label}"
        if self._tables is None or failed:
            return f"{head} into {self._target.where} not restored, {failed} failures"
        seconds = (
            (self._finished - self._started).total_seconds()
            if self._finished and self._started
            else 0.0
        )
        return (
            f"{head} into {self._target.where}: {self._tables} tables restored in {seconds:.1f} s"
        )

    def _loaded_config(self) -> RestoreConfig:
        if self._restore_config is None:
            raise RuntimeError("read_restore_config has not run")
        return self._restore_config

    def _chosen(self) -> ChosenDump:
        if self._dump is None:
            raise RuntimeError("find_run has not run")
        return self._dump

    def _target_state(self) -> TargetState:
        if self._state is None:
            raise RuntimeError("check_target has not run")
        return self._state

    def _scratch(self) -> LocalFile:
        if self._plain is None:
            raise RuntimeError("decrypt_dump has not run")
        return self._plain


RestoreMachineFactory = Callable[[ClientContext], RestoreDatabaseMachine]
