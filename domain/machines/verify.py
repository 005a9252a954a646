"""Check stored runs against their manifests (SPEC section 5, `verify`).

Every stored file's size and sha256 are computed from a stream and compared with the manifest.
With the restore config, every file is also decrypted (and decompressed) as a stream, and each
database dump read by `pg_restore --list`: nothing is written to disk. Every problem is one
Failure naming the file.
Prefixes: `<client>` (the job), `<client> <run path>` (a run), `<client> <run path>/<file>`.
No lock is taken: the share is only read.
"""

from __future__ import annotations

import logging
from contextlib import closing
from pathlib import PurePosixPath

from domain.framework.definition import node
from domain.framework.fanout import fan_out
from domain.framework.machine import Machine, Step, describe
from domain.framework.results import Failure, Result, failures
from domain.framework.slot import Slot
from domain.machines.mount import ClientContext
from domain.machines.private_key import LoadPrivateKeyMachine
from domain.machines.restore import RestorePorts
from domain.models.manifest import DumpRecord, DumpStatus, Manifest
from domain.models.redaction import Redactor
from domain.models.restore_request import VerifyRequest
from domain.models.run import StoredRun
from domain.services.catalog import RunCatalog
from domain.services.reading import open_plain
from domain.services.run_choice import find_runs
from domain.services.streams import HashingReader
from ports.config_source import ConfigSource
from ports.decryptor import DecryptionKeys
from ports.file_share import FileShare
from ports.task_runner import TaskRunner

logger = logging.getLogger("lts.verify")


class VerifyFileMachine(Machine):
    """Check one stored file: size and sha256, then (with the key) decrypt and list it."""

    def __init__(
        self,
        *,
        client: str,
        run_dir: PurePosixPath,
        record: DumpRecord,
        share: FileShare,
        ports: RestorePorts,
        keys: DecryptionKeys | None,
        is_globals: bool = False,
    ) -> None:
        super().__init__()
        self._client = client
        self._path = run_dir / record.file
        self._record = record
        self._globals = is_globals
        self._share = share
        self._ports = ports
        self._keys = keys
        self.checked = False
        self.decrypted = False

    @property
    def prefix(self) -> str:
        """Return `<client> <run path>/<file>`."""
        return f"{self._client} {self._path}"

    @node(
        entry=True,
        happy=("decrypt_file",),
        unhappy=("report_results",),
        on_exception="report_results",
    )
    def check_file(self) -> Step:
        """Stream the file and compare its size and sha256 with the manifest."""
        reader = HashingReader(self._share.read_stream(self._path))
        reader.drain()
        self.checked = True
        problem = reader.mismatch(self._record)
        if problem is not None:
            return self.failure(self.report_results, problem)
        return self.success(self.decrypt_file)

    @node(happy=("report_results",), unhappy=("report_results",), on_exception="report_results")
    def decrypt_file(self) -> Step:
        """Decrypt (and decompress) the file as a stream; list a dump with pg_restore --list."""
        if self._keys is None:
            return self.success(self.report_results)
        reader = self._ports.plain_reader(self._keys)
        opened = open_plain(self._share, self._path, self._record, reader)
        with closing(opened.plain) as plain:
            if self._globals:
                size = sum(len(chunk) for chunk in plain)
                if size == 0:
                    return self.failure(self.report_results, "decrypts to nothing")
            else:
                listing = self._ports.archives.list_archive(plain)
                logger.info("%s: %d archive entries", self._path, listing.entries)
        self.decrypted = True
        return self.success(self.report_results)


class VerifyRunMachine(Machine):
    """Check every stored file of one run against the run's manifest."""

    manifest = Slot[Manifest]("read_manifest")

    def __init__(
        self,
        *,
        client: str,
        run: StoredRun,
        catalog: RunCatalog,
        share: FileShare,
        ports: RestorePorts,
        runner: TaskRunner,
        keys: DecryptionKeys | None,
    ) -> None:
        super().__init__()
        self._client = client
        self._run = run
        self._catalog = catalog
        self._share = share
        self._ports = ports
        self._runner = runner
        self._keys = keys
        self.files: list[VerifyFileMachine] = []

    @property
    def prefix(self) -> str:
        """Return `<client> <run path>`."""
        return f"{self._client} {self._run.path}"

    @node(
        entry=True,
        happy=("check_files",),
        unhappy=("report_results",),
        on_exception="report_results",
    )
    def read_manifest(self) -> Step:
        """Read and validate the run's manifest.json."""
        self.manifest = self._catalog.manifest(self._run)
        return self.success(self.check_files)

    @node(happy=("report_results",), unhappy=("report_results",), on_exception="report_results")
    def check_files(self) -> Step:
        """Check every stored (ok) file of the run; their results land before this one."""
        manifest = self.manifest
        records = [(manifest.globals, True)] if manifest.globals else []
        records += [(record, False) for record in manifest.databases]
        self.files = [
            VerifyFileMachine(
                client=self._client,
                run_dir=self._run.path,
                record=record,
                share=self._share,
                ports=self._ports,
                keys=self._keys,
                is_globals=is_globals,
            )
            for record, is_globals in records
            if record.status is DumpStatus.OK
        ]
        self.add_results(fan_out(self._runner, self.files))
        return self.success(self.report_results)


class VerifyRunsMachine(Machine):
    """Verify the chosen runs of a client: sizes and sha256, and with the key decryption."""

    runs = Slot[list[StoredRun]]("find_runs")

    def __init__(
        self,
        context: ClientContext,
        *,
        ports: RestorePorts,
        runner: TaskRunner,
        request: VerifyRequest,
        redactor: Redactor,
        restore_source: ConfigSource | None = None,
    ) -> None:
        super().__init__()
        self._config = context.config
        self._share = context.share
        self._catalog = RunCatalog(context.share)
        self._ports = ports
        self._runner = runner
        self._request = request
        self._redactor = redactor
        self._source = restore_source
        self._keys: DecryptionKeys | None = None
        """The private key, when a restore vault was given and it loaded."""
        self._children: list[VerifyRunMachine] = []

    @property
    def prefix(self) -> str:
        """Return the client name."""
        return self._config.client_name

    @node(entry=True, happy=("find_runs",), unhappy=("find_runs",), on_exception="find_runs")
    def load_private_key(self) -> Step:
        """With a restore vault, load its private key (a child machine); sizes are checked too."""
        if self._source is None:
            return self.success(self.find_runs)
        loader = LoadPrivateKeyMachine(
            prefix=self.prefix,
            source=self._source,
            decryptor=self._ports.decryptor,
            redactor=self._redactor,
        )
        self.add_results(loader.execute())
        self._keys = loader.loaded
        return self.success(self.find_runs)

    @node(happy=("verify_runs",), unhappy=("dispose_key",), on_exception="dispose_key")
    def find_runs(self) -> Step:
        """Choose the runs to verify: one by id, the newest, or all."""
        self.runs = find_runs(self._catalog, self._request.run)
        return self.success(self.verify_runs)

    @node(happy=("dispose_key",), unhappy=("dispose_key",), on_exception="dispose_key")
    def verify_runs(self) -> Step:
        """Verify each run in turn; their results land before this one."""
        for run in self.runs:
            child = VerifyRunMachine(
                client=self._config.client_name,
                run=run,
                catalog=self._catalog,
                share=self._share,
                ports=self._ports,
                runner=self._runner,
                keys=self._keys,
            )
            self._children.append(child)
            # Not through the runner: the run's files use it, and a pool waiting on itself hangs.
            try:
                self.add_results(child.execute())
            except Exception as exc:
                logger.exception("verifying %s broke", run.path)
                message = f"{child.prefix} unrecognized exception: {describe(exc)}"
                self.add_results([Failure(child.entry, message)])
        return self.success(self.dispose_key)

    @node(happy=("report_results",), unhappy=("report_results",), on_exception="report_results")
    def dispose_key(self) -> Step:
        """Remove the throw-away keyring holding the private key, if one was loaded."""
        keys, self._keys = self._keys, None
        if keys is not None:
            keys.close()
        return self.success(self.report_results)

    def summary(self, results: list[Result]) -> str:
        """Return one line: runs and files checked, whether decrypted, problems found."""
        files = [f for child in self._children for f in child.files]
        checked = sum(1 for f in files if f.checked)
        decrypted = sum(1 for f in files if f.decrypted)
        runs = len(self._children)
        return (
            f"verify {self._config.client_name}: {runs} run{'s' if runs != 1 else ''}, "
            f"{checked} files checked, {decrypted} decrypted, {len(failures(results))} problems"
        )
