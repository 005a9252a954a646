"""Decrypt one database's stored dump into a local file for manual use (SPEC section 5, `decrypt`).

The output is a new file of mode 0600, written atomically (an existing file is never
overwritten, a failed run leaves no partial output): the custom-format dump, or with `--sql`
plain SQL made by `pg_restore -f -` from the decrypted stream, so the custom-format dump never
touches the disk then. The private key lives in a throw-away keyring disposed at the end.
Failure prefix: `<client> <database>`. No lock is taken: the share is only read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import closing

from domain.framework.definition import node
from domain.framework.machine import Machine, Step
from domain.framework.results import Result, failures
from domain.machines.catalog import RunCatalog
from domain.machines.mount import ClientContext
from domain.machines.restore import RestorePorts
from domain.machines.restore_support import (
    ChosenDump,
    HashingReader,
    choose_dump,
    read_restore_config,
)
from domain.models.redaction import Redactor
from domain.models.restore_config import RestoreConfig, RestoreConfigError
from domain.models.restore_request import DecryptRequest
from ports.config_source import ConfigSource
from ports.local_files import LocalFile

logger = logging.getLogger("lts.decrypt")


class DecryptDumpMachine(Machine):
    """Decrypt one database's dump of a run into a new 0600 file (or plain SQL)."""

    def __init__(
        self,
        context: ClientContext,
        *,
        ports: RestorePorts,
        restore_source: ConfigSource,
        request: DecryptRequest,
        redactor: Redactor,
    ) -> None:
        super().__init__()
        self._config = context.config
        self._share = context.share
        self._catalog = RunCatalog(context.share)
        self._ports = ports
        self._source = restore_source
        self._request = request
        self._redactor = redactor
        self._restore_config: RestoreConfig | None = None
        self._dump: ChosenDump | None = None
        self._written: LocalFile | None = None

    @property
    def prefix(self) -> str:
        """Return `<client> <database>`."""
        return f"{self._config.client_name} {self._request.database}"

    @node(
        entry=True,
        happy=("read_restore_config",),
        unhappy=("report_results",),
        on_exception="report_results",
    )
    def check_output(self) -> Step:
        """Refuse an output path that exists: a decrypt never overwrites a file."""
        if self._ports.files.exists(self._request.output):
            return self.failure(
                self.report_results, f"{self._request.output} already exists; nothing was written"
            )
        return self.success(self.read_restore_config)

    @node(happy=("load_key",), unhappy=("report_results",), on_exception="report_results")
    def read_restore_config(self) -> Step:
        """Read the private key and its passphrase from the restore vault."""
        try:
            self._restore_config = read_restore_config(self._source, self._redactor)
        except RestoreConfigError as exc:
            return self.failure(self.report_results, f"invalid restore config: {exc}")
        return self.success(self.load_key)

    @node(happy=("find_run",), unhappy=("dispose_key",), on_exception="dispose_key")
    def load_key(self) -> Step:
        """Import the private key into a throw-away keyring and check the passphrase."""
        config = self._restore_config
        if config is None:
            raise RuntimeError("read_restore_config has not run")
        self._ports.decryptor.load_key(config.key_bytes, config.private_key_passphrase)
        return self.success(self.find_run)

    @node(happy=("decrypt_dump",), unhappy=("dispose_key",), on_exception="dispose_key")
    def find_run(self) -> Step:
        """Choose the run (or the newest with an ok dump of the database) and its dump."""
        self._dump = choose_dump(self._catalog, self._request.run, self._request.database)
        return self.success(self.decrypt_dump)

    @node(happy=("dispose_key",), unhappy=("dispose_key",), on_exception="dispose_key")
    def decrypt_dump(self) -> Step:
        """Stream share -> gpg (-> pg_restore -f -) -> the output file, checked on the way."""
        dump = self._dump
        if dump is None:
            raise RuntimeError("find_run has not run")
        reader = HashingReader(self._share.read_stream(dump.run.path / dump.record.file))
        plain = self._ports.decryptor.decrypt(reader)
        with closing(plain):
            if self._request.sql:
                with closing(self._ports.restorer.to_sql(plain)) as sql:
                    self._written = self._ports.files.write_private(self._request.output, sql)
            else:
                self._written = self._ports.files.write_private(self._request.output, plain)
        problem = reader.mismatch(dump.record)
        if problem is not None:
            self._ports.files.remove(self._request.output)
            self._written = None
            return self.failure(self.dispose_key, f"{dump.record.file} {problem}")
        logger.info("wrote %s (%d bytes)", self._written.path, self._written.bytes)
        return self.success(self.dispose_key)

    @node(happy=("report_results",), unhappy=("report_results",), on_exception="report_results")
    def dispose_key(self) -> Step:
        """Remove the throw-away keyring holding the private key."""
        self._ports.decryptor.dispose()
        return self.success(self.report_results)

    def summary(self, results: list[Result]) -> str:
        """Return one line: what was decrypted from which run into which file."""
        head = f"decrypt {self._config.client_name}: {self._request.database}"
        if self._dump is not None:
            head += f" from run {self._dump.label}"
        if self._written is None or failures(results):
            return f"{head} not written, {len(failures(results))} failures"
        kind = "plain SQL" if self._request.sql else "custom-format dump"
        return f"{head} written to {self._written.path} ({kind}, {self._written.bytes} bytes)"


DecryptMachineFactory = Callable[[ClientContext], DecryptDumpMachine]
