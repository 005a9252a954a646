"""Check stored runs against their manifests (SPEC section 5, `verify`).

Every stored file's size and sha256 are computed from a stream and compared with the manifest.
With the restore config, every file is also decrypted (and a zstd run's file decompressed,
through the one read path of domain/services/reading.py) as a stream, and each database dump read
whole by pg_restore (every data block, as a restore reads it) with its table of contents listed:
nothing is written to disk. The archive's number of TOC entries and of TABLE DATA entries must be
what the manifest recorded when the dump was made (SPEC 13), so an archive that reads but lost
entries fails; a manifest from before those counts were recorded allows only the readability
check, and the summary says how many archives that was. Every problem is one Failure naming the
file. With trusted keys (`[signing] trusted_keys`), each run's manifest is checked against its
detached signature first (SPEC 14): a changed manifest, or one signed by another key, is a
Failure, and so is a missing signature with `[signing] require`. With `--logs`, every audit log's
hash chain is checked (VerifyLogMachine, one result per log).
Prefixes: `<client>` (the job), `<client> <run path>` (a run), `<client> <run path>/<file>`.
No lock is taken: the share is only read.

Longer than 300 lines: the job's three machines (a file, a run, the chosen runs) read together.
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
from domain.machines.private_key import PrivateKeySource
from domain.machines.restore_ports import RestorePorts
from domain.machines.verify_logs import VerifyLogMachine
from domain.models.manifest import DumpRecord, DumpStatus, Manifest
from domain.models.redaction import Redactor
from domain.models.restore_request import VerifyRequest
from domain.models.run import StoredRun
from domain.models.signing import UNREQUIRED, SigningPolicy
from domain.services.audit_log import find_audit_logs
from domain.services.catalog import RunCatalog
from domain.services.reading import open_plain
from domain.services.run_choice import find_runs
from domain.services.run_signature import SignatureState, check_run_signature
from domain.services.streams import HashingReader
from ports.config_source import ConfigSource
from ports.decryptor import DecryptionKeys
from ports.file_share import FileShare
from ports.signature_checker import SignatureChecker, TrustedKeys
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
        globals_dump: bool = False,
    ) -> None:
        super().__init__()
        self._client = client
        self._path = run_dir / record.file
        self._record = record
        self._globals = globals_dump
        self._share = share
        self._ports = ports
        self._keys = keys
        self.checked = False
        self.decrypted = False
        self.counted: bool | None = None
        """After decryption: whether the archive was held against recorded counts."""

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
        """Decrypt (and decompress) the file as a stream; read a dump whole, hold it to counts."""
        if self._keys is None:
            return self.success(self.report_results)
        reader = self._ports.plain_reader(self._keys)
        opened = open_plain(self._share, self._path, self._record, reader)
        with closing(opened.plain) as plain:
            if self._globals:
                size = sum(len(chunk) for chunk in plain)
                if size == 0:
                    return self.failure(self.report_results, "decrypts to nothing")
                self.decrypted = True
                return self.success(self.report_results)
            listing = self._ports.archives.check_archive(plain)
        self.decrypted = True
        record = self._record
        logger.info(
            "%s: %d TOC entries, %d TABLE DATA entries", self._path, listing.entries, listing.tables
        )
        if not record.counted:
            self.counted = False
            logger.warning(
                "%s: the manifest records no counts (made before they were); only its "
                "readability was checked",
                self._path,
            )
            return self.success(self.report_results)
        self.counted = True
        if (listing.entries, listing.tables) != (record.toc_entries, record.table_data_entries):
            return self.failure(
                self.report_results,
                f"holds {listing.entries} TOC entries, {listing.tables} of them TABLE DATA; when "
                f"it was made it held {record.toc_entries}, {record.table_data_entries} of them "
                "TABLE DATA: entries are missing or it is another archive",
            )
        return self.success(self.report_results)


class VerifyRunMachine(Machine):
    """Check every stored file of one run against the run's manifest."""

    manifest = Slot[Manifest]("read_manifest")
    manifest_bytes = Slot[bytes]("read_manifest")

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
        trusted: TrustedKeys | None = None,
        policy: SigningPolicy = UNREQUIRED,
    ) -> None:
        super().__init__()
        self._client = client
        self._run = run
        self._catalog = catalog
        self._share = share
        self._ports = ports
        self._runner = runner
        self._keys = keys
        self._trusted = trusted
        self._policy = policy
        self.files: list[VerifyFileMachine] = []
        self.signature: SignatureState | None = None

    @property
    def prefix(self) -> str:
        """Return `<client> <run path>`."""
        return f"{self._client} {self._run.path}"

    @node(
        entry=True,
        happy=("check_signature",),
        unhappy=("report_results",),
        on_exception="report_results",
    )
    def read_manifest(self) -> Step:
        """Read and validate the run's manifest.json."""
        self.manifest_bytes, self.manifest = self._catalog.manifest_bytes(self._run)
        return self.success(self.check_signature)

    @node(happy=("check_files",), unhappy=("check_files",), on_exception="check_files")
    def check_signature(self) -> Step:
        """Check manifest.json against its signature (manifest.json.asc) and the trusted keys."""
        finding = check_run_signature(
            self._share,
            self._run.path,
            (self.manifest_bytes, self.manifest),
            self._trusted,
            self._policy,
        )
        self.signature = finding.state
        if finding.problem is not None:
            return self.failure(self.check_files, finding.problem)
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
                globals_dump=is_globals,
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
        checker: SignatureChecker | None = None,
        policy: SigningPolicy = UNREQUIRED,
    ) -> None:
        super().__init__()
        self._config = context.config
        self._share = context.share
        self._catalog = RunCatalog(context.share)
        self._ports = ports
        self._runner = runner
        self._request = request
        self._keys_from = (
            None
            if restore_source is None
            else PrivateKeySource(restore_source, ports.decryptor, redactor, context.config_url)
        )
        """Where the private key comes from, when a restore vault was given."""
        self._checker = checker
        self._policy = policy
        self._keys: DecryptionKeys | None = None
        """The private key, when a restore vault was given and it loaded."""
        self._trusted: TrustedKeys | None = None
        """The trusted signing keys, when [signing] trusted_keys is set and they loaded."""
        self._children: list[VerifyRunMachine] = []
        self._logs: list[VerifyLogMachine] = []

    @property
    def prefix(self) -> str:
        """Return the client name."""
        return self._config.client_name

    @node(
        entry=True,
        happy=("load_trusted_keys",),
        unhappy=("load_trusted_keys",),
        on_exception="load_trusted_keys",
    )
    def load_private_key(self) -> Step:
        """With a restore vault, load its private key (a child machine); sizes are checked too."""
        if self._keys_from is not None:
            self._keys = self._keys_from.load(self)
        return self.success(self.load_trusted_keys)

    @node(happy=("find_runs",), unhappy=("find_runs",), on_exception="find_runs")
    def load_trusted_keys(self) -> Step:
        """With [signing] trusted_keys, load the keys run signatures are checked against."""
        if self._checker is not None:
            self._trusted = self._checker.load()
        return self.success(self.find_runs)

    @node(happy=("verify_runs",), unhappy=("verify_logs",), on_exception="verify_logs")
    def find_runs(self) -> Step:
        """Choose the runs to verify: one by id, the newest, or all (none for --logs alone)."""
        self.runs = find_runs(self._catalog, self._request.run) if self._request.runs else []
        return self.success(self.verify_runs)

    @node(happy=("verify_logs",), unhappy=("verify_logs",), on_exception="verify_logs")
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
                trusted=self._trusted,
                policy=self._policy,
            )
            self._children.append(child)
            # Not through the runner: the run's files use it, and a pool waiting on itself hangs.
            try:
                self.add_results(child.execute())
            except Exception as exc:
                logger.exception("verifying %s broke", run.path)
                message = f"{child.prefix} unrecognized exception: {describe(exc)}"
                self.add_results([Failure(child.entry, message)])
        return self.success(self.verify_logs)

    @node(happy=("dispose_key",), unhappy=("dispose_key",), on_exception="dispose_key")
    def verify_logs(self) -> Step:
        """With --logs, check every audit log's hash chain; one result per log."""
        if not self._request.logs:
            return self.success(self.dispose_key)
        self._logs = [
            VerifyLogMachine(client=self._config.client_name, path=path, share=self._share)
            for path in find_audit_logs(self._share)
        ]
        self.add_results(fan_out(self._runner, self._logs))
        return self.success(self.dispose_key)

    @node(
        happy=("report_results",),
        unhappy=("report_results",),
        on_exception="report_results",
        cleanup=True,
    )
    def dispose_key(self) -> Step:
        """Remove the throw-away keyrings holding the private key and the trusted keys."""
        trusted, self._trusted = self._trusted, None
        if trusted is not None:
            trusted.close()
        keys, self._keys = self._keys, None
        if keys is not None:
            keys.close()
        return self.success(self.report_results)

    def summary(self, results: list[Result]) -> str:
        """Return one line: runs and files checked, decrypted, signed, logs, problems found.

        When some archives' manifests recorded no counts, the line says how many could only be
        checked for readability.
        """
        files = [f for child in self._children for f in child.files]
        checked = sum(1 for f in files if f.checked)
        decrypted = sum(1 for f in files if f.decrypted)
        uncounted = sum(1 for f in files if f.counted is False)
        runs = len(self._children)
        parts = []
        if self._request.runs:
            parts += [
                f"{runs} run{'s' if runs != 1 else ''}",
                f"{checked} files checked",
                f"{decrypted} decrypted"
                + (
                    f" ({uncounted} of them only for readability: their manifests recorded "
                    "no counts)"
                    if uncounted
                    else ""
                ),
            ]
        states = [child.signature for child in self._children]
        signing = self._checker is not None or any(
            state in (SignatureState.GOOD, SignatureState.UNCHECKED) for state in states
        )
        if self._request.runs and signing:
            signed = states.count(SignatureState.GOOD)
            unsigned = states.count(SignatureState.UNSIGNED)
            unchecked = states.count(SignatureState.UNCHECKED)
            parts += [f"{signed} signed", f"{unsigned} unsigned"]
            if unchecked:
                parts.append(f"{unchecked} signatures not checked")
        if self._request.logs:
            parts.append(f"{len(self._logs)} logs checked")
        parts.append(f"{len(failures(results))} problems")
        return f"verify {self._config.client_name}: {', '.join(parts)}"
