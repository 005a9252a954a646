"""Decrypt one database's stored dump into a local file for manual use (SPEC section 5, `decrypt`).

The output is a new file of mode 0600, written atomically (an existing file is never
overwritten, a failed run leaves no partial output): the custom-format dump (decompressed when a
zstd process compressed it, so pg_restore reads it as it is), or with `--sql`
plain SQL made by `pg_restore -f -` from the decrypted stream, so the custom-format dump never
touches the disk then. The private key lives in a throw-away keyring disposed at the end.
Failure prefix: `<client> <database>`. No lock is taken: the share is only read.
"""

from __future__ import annotations

import logging
from contextlib import closing

from domain.framework.definition import node
from domain.framework.machine import Step
from domain.framework.results import Result, failures
from domain.framework.slot import Slot
from domain.machines.decrypting import DecryptingMachine
from domain.machines.mount import ClientContext
from domain.machines.restore_ports import RestorePorts
from domain.models.redaction import Redactor
from domain.models.restore_request import DecryptRequest
from domain.services.reading import open_plain
from domain.services.run_choice import ChosenDump, choose_dump
from ports.config_source import ConfigSource
from ports.local_files import LocalFile

logger = logging.getLogger("lts.decrypt")


class DecryptDumpMachine(DecryptingMachine):
    """Decrypt one database's dump of a run into a new 0600 file (or plain SQL)."""

    dump = Slot[ChosenDump]("find_run")
    written = Slot[LocalFile]("decrypt_dump")

    def __init__(
        self,
        context: ClientContext,
        *,
        ports: RestorePorts,
        restore_source: ConfigSource,
        request: DecryptRequest,
        redactor: Redactor,
    ) -> None:
        super().__init__(context, ports=ports, restore_source=restore_source, redactor=redactor)
        self._request = request

    @property
    def prefix(self) -> str:
        """Return `<client> <database>`."""
        return f"{self._config.client_name} {self._request.database}"

    @node(
        entry=True,
        happy=("load_private_key",),
        unhappy=("report_results",),
        on_exception="report_results",
    )
    def check_output(self) -> Step:
        """Refuse an output path that exists: a decrypt never overwrites a file."""
        if self._ports.files.exists(self._request.output):
            return self.failure(
                self.report_results, f"{self._request.output} already exists; nothing was written"
            )
        return self.success(self.load_private_key)

    @node(
        happy=("find_run", "report_results"),
        unhappy=("report_results",),
        on_exception="report_results",
    )
    def load_private_key(self) -> Step:
        """Read the restore config and load its private key (a child machine)."""
        return self._load_keys(self.find_run)

    @node(happy=("decrypt_dump",), unhappy=("dispose_key",), on_exception="dispose_key")
    def find_run(self) -> Step:
        """Choose the run (or the newest with an ok dump of the database) and its dump."""
        self.dump = choose_dump(self._catalog, self._request.run, self._request.database)
        return self.success(self.decrypt_dump)

    @node(happy=("dispose_key",), unhappy=("dispose_key",), on_exception="dispose_key")
    def decrypt_dump(self) -> Step:
        """Stream share -> gpg (-> zstd -d) (-> pg_restore -f -) -> the file, checked."""
        dump, output, files = self.dump, self._request.output, self._ports.files
        opened = open_plain(
            self._share,
            dump.run.path / dump.record.file,
            dump.record,
            self._ports.plain_reader(self.keys),
        )
        with closing(opened.plain) as plain:
            if self._request.sql:
                with closing(self._ports.archives.to_sql(plain)) as sql:
                    written = files.write_private(output, sql)
            else:
                written = files.write_private(output, plain)
        problem = opened.stored.mismatch(dump.record)
        if problem is not None:
            files.remove(output)
            return self.failure(self.dispose_key, f"{dump.record.file} {problem}")
        self.written = written
        logger.info("wrote %s (%d bytes)", written.path, written.bytes)
        return self.success(self.dispose_key)

    def summary(self, results: list[Result]) -> str:
        """Return one line: what was decrypted from which run into which file."""
        head = f"decrypt {self._config.client_name}: {self._request.database}"
        dump = DecryptDumpMachine.dump.get(self)
        if dump is not None:
            head += f" from run {dump.label}"
        written = DecryptDumpMachine.written.get(self)
        if written is None or failures(results):
            return f"{head} not written, {len(failures(results))} failures"
        kind = "plain SQL" if self._request.sql else "custom-format dump"
        return f"{head} written to {written.path} ({kind}, {written.bytes} bytes)"
