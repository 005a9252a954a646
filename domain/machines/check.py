"""Check that a client is ready to be backed up, and that its backups are fresh (SPEC section 5).

Runs inside MountShareMachine like every job on a client's share: the config was read and
validated and the share mounted before this machine starts. One result per finding, each a node
(or a child machine's node): the retention days are sane; zstd (a runtime dependency) runs;
PostgreSQL answers with the configured auth; the backup role can read every table, sequence and
large object of every database to back up, one result line per object it cannot
(CheckReadableMachine); a pg_dump new enough for the server exists, and it dumps the schema of
every such database without complaint (ProbeDumpMachine, the ground truth for anything else
pg_dump would refuse); the keys are usable (CheckKeysMachine); the operator's signing key loads,
signs and does not expire within the warning time, and the trusted keys load (SPEC 14); a probe
file can be written, renamed, read back and deleted at the share root; every month since the
client's first run has a complete run (CheckFreshnessMachine); with `[check]
drill_max_age_days`, the newest complete run was proven restorable by a drill within that many
days of being made (drills.jsonl). A finding that cannot be checked because an earlier one
failed (no server; no zstd for a `zstd:N` pg_dump) is skipped, not reported again.

No lock is taken: the check writes only its probe file at the share root and may run beside a
backup. Failure prefix: `<client>`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import PurePosixPath

from domain.framework.definition import node
from domain.framework.machine import Machine, Step
from domain.framework.results import Result, failures
from domain.framework.slot import Slot
from domain.machines.check_dumpable import CheckReadableMachine, ProbeDumpMachine
from domain.machines.check_keys import CheckKeysMachine, KeyPorts
from domain.machines.freshness import CheckFreshnessMachine
from domain.machines.mount import ClientContext
from domain.models.compression import is_zstd
from domain.models.metrics import JobMeasurements
from domain.models.operations import CheckPolicy
from domain.models.redaction import Redactor
from domain.models.run import StoredRun
from domain.rules.drills import DRILLS_FILE, drills_by_run, undrilled_problem
from domain.rules.freshness import retention_problems
from domain.services.audit_log import AuditLog
from domain.services.catalog import RunCatalog
from domain.services.configs import server_target
from domain.services.job_metrics import key_expiries
from ports.clock import Clock
from ports.config_source import ConfigSource
from ports.database import Database, ServerInfo
from ports.decompressor import Decompressor
from ports.decryptor import Decryptor
from ports.dumper import Dumper, DumpTool
from ports.encryptor import Encryptor
from ports.errors import CompressionError, InvalidManifestError
from ports.signature_checker import SignatureChecker
from ports.signer import Signer

logger = logging.getLogger("lts.check")


@dataclass(frozen=True, slots=True)
class CheckPorts:
    """The ports the check talks through, besides the share."""

    database: Database
    dumper: Dumper
    encryptor: Encryptor
    decryptor: Decryptor
    clock: Clock
    decompressor: Decompressor
    signer: Signer | None = None
    """The operator's signing key ([signing] key_file); None when runs are not signed."""
    checker: SignatureChecker | None = None
    """The keys verify trusts ([signing] trusted_keys); None when signatures are not checked."""


class CheckClientMachine(Machine):
    """Check a client's retention, server, privileges, keys, share and freshness."""

    server = Slot[ServerInfo]("connect_server")
    readable = Slot[list[str]]("check_privileges")
    """The databases the backup role can read all of: their schema dump is probed."""
    tool = Slot[DumpTool]("check_pg_dump")

    def __init__(
        self,
        context: ClientContext,
        *,
        ports: CheckPorts,
        policy: CheckPolicy,
        redactor: Redactor,
        probe_name: str,
        restore_source: ConfigSource | None = None,
    ) -> None:
        super().__init__()
        self._config = context.config
        self._config_url = context.config_url
        self._share = context.share
        self._ports = ports
        self._policy = policy
        self._redactor = redactor
        self._probe = PurePosixPath(probe_name)
        self._restore_source = restore_source
        self._probe_left: PurePosixPath | None = None
        self._zstd_missing = False
        self.freshness: CheckFreshnessMachine | None = None
        self.keys: CheckKeysMachine | None = None

    @property
    def prefix(self) -> str:
        """Return the client name."""
        return self._config.client_name

    @node(
        entry=True,
        happy=("check_zstd",),
        unhappy=("check_zstd",),
        on_exception="check_zstd",
    )
    def check_retention(self) -> Step:
        """Check that both tiers keep runs at least a day, and year-ends at least as long."""
        config = self._config
        problems = retention_problems(config.end_of_month_retention, config.end_of_year_retention)
        if problems:
            return self.failure(self.check_zstd, f"retention is not sane: {'; '.join(problems)}")
        return self.success(self.check_zstd)

    @node(happy=("connect_server",), unhappy=("connect_server",), on_exception="connect_server")
    def check_zstd(self) -> Step:
        """Check that zstd runs: it compresses `zstd:N` dumps and reads every `*.zst.gpg` back."""
        try:
            version = self._ports.decompressor.version()
        except CompressionError as exc:
            self._zstd_missing = True
            return self.failure(self.connect_server, str(exc))
        logger.info("zstd %s", version)
        return self.success(self.connect_server)

    @node(happy=("check_privileges",), unhappy=("check_keys",), on_exception="check_keys")
    def connect_server(self) -> Step:
        """Log in to PostgreSQL with the configured auth and read its version."""
        self.server = self._ports.database.server_info(server_target(self._config))
        logger.info("server version %s", self.server.version)
        return self.success(self.check_privileges)

    @node(happy=("check_pg_dump",), unhappy=("check_pg_dump",), on_exception="check_pg_dump")
    def check_privileges(self) -> Step:
        """Check that the backup role can read all of every database; a line per object not."""
        config = self._config
        target = server_target(config)
        exclude = self._policy.exclude_everywhere | config.exclude_databases
        databases = self._ports.database.list_databases(target, exclude)
        children = [
            CheckReadableMachine(
                client=config.client_name,
                database=database.name,
                role=config.login_user,
                target=target,
                server=self._ports.database,
            )
            for database in sorted(databases, key=lambda db: db.name)
        ]
        for child in children:
            self.add_results(child.execute())
        self.readable = [child.database for child in children if not child.unreadable]
        logger.info("privileges checked in %d databases", len(databases))
        return self.success(self.check_pg_dump)

    @node(happy=("probe_dumps", "check_keys"), unhappy=("check_keys",), on_exception="check_keys")
    def check_pg_dump(self) -> Step:
        """Check that a pg_dump at least as new as the server is installed."""
        if self._zstd_missing and is_zstd(self._policy.compression):
            # The dump tool is pg_dump and zstd together: its one missing part is reported once
            # (check_zstd), and without the tool there is nothing to probe with.
            logger.info("pg_dump not checked: compression %s needs zstd", self._policy.compression)
            return self.success(self.check_keys)
        self.tool = self._ports.dumper.select(self.server)
        logger.info("pg_dump %s for server %s", self.tool.info.version, self.server.version)
        return self.success(self.probe_dumps)

    @node(happy=("check_keys",), unhappy=("check_keys",), on_exception="check_keys")
    def probe_dumps(self) -> Step:
        """Dump the schema of every readable database to nowhere; a line per refusal."""
        readable = CheckClientMachine.readable.get(self) or []
        target = server_target(self._config)
        for database in readable:
            probe = ProbeDumpMachine(
                client=self._config.client_name, database=database, target=target, tool=self.tool
            )
            self.add_results(probe.execute())
        return self.success(self.check_keys)

    @node(
        happy=("check_signing_key",),
        unhappy=("check_signing_key",),
        on_exception="check_signing_key",
    )
    def check_keys(self) -> Step:
        """Check the public key, its expiry and the private key (a child machine)."""
        ports = self._ports
        keys = self.keys = CheckKeysMachine(
            config=self._config,
            ports=KeyPorts(ports.encryptor, ports.decryptor, ports.clock),
            key_warning=self._policy.key_warning,
            redactor=self._redactor,
            restore_source=self._restore_source,
            config_url=self._config_url,
        )
        self.add_results(keys.execute())
        return self.success(self.check_signing_key)

    @node(happy=("probe_share",), unhappy=("probe_share",), on_exception="probe_share")
    def check_signing_key(self) -> Step:
        """Check that the signing key loads and signs, and expires not within 90 days."""
        signer, checker = self._ports.signer, self._ports.checker
        if checker is not None:
            checker.load().close()
        if signer is None:
            return self.success(self.probe_share)
        key = signer.load()
        try:
            info = key.info
        finally:
            key.close()
        now = self._ports.clock.now()
        if info.expires is not None and info.expires <= now + self._policy.key_warning:
            when = info.expires.date().isoformat()
            state = "expired on" if info.expires <= now else "expires on"
            return self.failure(
                self.probe_share,
                f"the signing key {info.fingerprint} ([signing] key_file) {state} {when} "
                f"(in {max((info.expires - now).days, 0)} days): extend it (gpg "
                "--quick-set-expire) and give its new public key to [signing] trusted_keys",
            )
        return self.success(self.probe_share)

    @node(happy=("remove_probe",), unhappy=("remove_probe",), on_exception="remove_probe")
    def probe_share(self) -> Step:
        """Write a probe file at the share root, rename it, read it back and delete it."""
        share = self._share
        content = f"long-term-storage check {self._ports.clock.now().isoformat()}\n".encode()
        renamed = self._probe.with_name(f"{self._probe.name}.renamed")
        self._probe_left = self._probe
        share.write_stream(self._probe, [content])
        share.rename(self._probe, renamed)
        self._probe_left = renamed
        read = b"".join(share.read_stream(renamed))
        if read != content:
            return self.failure(
                self.remove_probe,
                f"the probe file {renamed} reads back {len(read)} bytes, not the "
                f"{len(content)} written",
            )
        # Cleared first: a failing delete is this node's failure, not remove_probe's as well.
        self._probe_left = None
        share.delete_file(renamed)
        return self.success(self.remove_probe)

    @node(
        happy=("check_freshness",),
        unhappy=("check_freshness",),
        on_exception="check_freshness",
        cleanup=True,
    )
    def remove_probe(self) -> Step:
        """Remove what a failed probe left behind."""
        left, self._probe_left = self._probe_left, None
        if left is not None and self._share.exists(left):
            self._share.delete_file(left)
        return self.success(self.check_freshness)

    @node(happy=("check_drills",), unhappy=("check_drills",), on_exception="check_drills")
    def check_freshness(self) -> Step:
        """Check every month since the first run for a complete run (a child machine)."""
        self.freshness = CheckFreshnessMachine(
            config=self._config, share=self._share, clock=self._ports.clock, policy=self._policy
        )
        self.add_results(self.freshness.execute())
        return self.success(self.check_drills)

    @node(happy=("report_results",), unhappy=("report_results",), on_exception="report_results")
    def check_drills(self) -> Step:
        """With `drill_max_age_days`, check that a drill proved the newest complete run."""
        max_age = self._policy.drill_max_age
        if max_age is None:
            return self.success(self.report_results)
        catalog = RunCatalog(self._share)
        newest = next(
            (run for run in reversed(catalog.all_runs()) if _complete(catalog, run)), None
        )
        if newest is None:
            logger.info("no complete run yet: nothing to have drilled")
            return self.success(self.report_results)
        drills = drills_by_run(AuditLog(self._share, PurePosixPath(DRILLS_FILE)).lines())
        problem = undrilled_problem(
            str(newest.path),
            newest.run_id.started,
            drills.get(str(newest.run_id)),
            self._ports.clock.now(),
            max_age,
        )
        if problem is not None:
            return self.failure(self.report_results, problem)
        return self.success(self.report_results)

    def measurements(self) -> JobMeasurements:
        """Return the expiry of the keys the check loaded."""
        recipients = CheckKeysMachine.recipients.get(self.keys) if self.keys else None
        return JobMeasurements(keys=key_expiries(recipients.info) if recipients else ())

    def summary(self, results: list[Result]) -> str:
        """Return one line: ready or how many problems, and how many months were checked."""
        problems = len(failures(results))
        verdict = "ready" if not problems else f"{problems} problem{'s' if problems != 1 else ''}"
        months = len(self.freshness.months) if self.freshness else 0
        return f"check {self._config.client_name}: {verdict}, {months} months of runs checked"


def _complete(catalog: RunCatalog, run: StoredRun) -> bool:
    try:
        return catalog.digest(run).complete
    except InvalidManifestError:
        return False
