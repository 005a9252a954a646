"""Check that a client is ready to be backed up, and that its backups are fresh (SPEC section 5).

One result per finding, each a node (or, for freshness, one child machine per month): the config
is complete and valid; the retention days are sane; PostgreSQL answers with the configured auth;
the backup role can read every table and sequence of every database to back up; a pg_dump new
enough for the server exists; the public key (and the escrow key) is usable, matches `key-name`
and does not expire within 90 days; with the restore config, its private key decrypts a sample
the public key encrypts; the share mounts and a probe file can be written, renamed, read back
and deleted; every month since the client's first run has a complete run (see
`domain.rules.freshness`). A finding that cannot be checked because an earlier one failed (no
server, no key, no share) is skipped, not reported again.

No lock is taken: the check writes only its probe file at the share root and may run beside a
backup. Keyrings are disposed and the share unmounted (only if this run mounted it) also after
failures. Failure prefix: `<client>` (per month `<client> <YYYY-MM>`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath

from domain.framework.definition import node
from domain.framework.machine import Machine, Step
from domain.framework.results import Result, failures
from domain.machines.backup import server_target
from domain.machines.catalog import RunCatalog, StoredRun
from domain.machines.mount import read_client_config
from domain.machines.restore_support import read_restore_config
from domain.models.client_config import ClientConfig, ClientConfigError
from domain.models.manifest import Manifest
from domain.models.operations import CheckPolicy
from domain.models.redaction import Redactor
from domain.models.restore_config import RestoreConfig, RestoreConfigError
from domain.rules.freshness import (
    FreshnessPolicy,
    Month,
    covered_month,
    required_months,
    retention_problems,
)
from ports.clock import Clock
from ports.config_source import ConfigSource
from ports.database import Database, ServerInfo
from ports.decryptor import DecryptionError, Decryptor
from ports.dumper import Dumper
from ports.encryptor import Encryptor, RecipientInfo
from ports.errors import DatabaseError, InvalidManifestError
from ports.file_share import FileShare, MountOutcome, ShareOpener, ShareTarget

logger = logging.getLogger("lts.check")

SAMPLE = b"long-term-storage check: the private key opens what the public key encrypts\n"
MAX_TABLES_SHOWN = 10


@dataclass(frozen=True, slots=True)
class CheckPorts:
    """The ports the check talks through."""

    database: Database
    dumper: Dumper
    encryptor: Encryptor
    decryptor: Decryptor
    clock: Clock
    opener: ShareOpener


@dataclass(frozen=True, slots=True)
class MonthRun:
    """A published run that covers a month, and whether it is complete."""

    run: StoredRun
    complete: bool


class MonthFreshnessMachine(Machine):
    """Tell whether one required month holds a complete run."""

    def __init__(self, *, client: str, month: Month, folder: str, runs: list[MonthRun]) -> None:
        super().__init__()
        self._client = client
        self.month = month
        self._folder = folder
        self._runs = runs

    @property
    def prefix(self) -> str:
        """Return `<client> <YYYY-MM>`."""
        return f"{self._client} {self.month}"

    @node(
        entry=True,
        happy=("report_results",),
        unhappy=("report_results",),
        on_exception="report_results",
    )
    def find_complete_run(self) -> Step:
        """Look for a complete run of the month in its tier."""
        if any(run.complete for run in self._runs):
            return self.success(self.report_results)
        if self._runs:
            incomplete = ", ".join(str(run.run.path) for run in self._runs)
            return self.failure(
                self.report_results, f"has no complete run (incomplete: {incomplete})"
            )
        return self.failure(self.report_results, f"has no run (expected under {self._folder}/)")


class CheckClientMachine(Machine):
    """Check a client's config, server, privileges, keys, share and freshness."""

    def __init__(
        self,
        *,
        client: str,
        source: ConfigSource,
        ports: CheckPorts,
        policy: CheckPolicy,
        redactor: Redactor,
        probe_name: str,
        restore_source: ConfigSource | None = None,
    ) -> None:
        super().__init__()
        self._client = client
        self._source = source
        self._ports = ports
        self._policy = policy
        self._redactor = redactor
        self._probe = PurePosixPath(probe_name)
        self._restore_source = restore_source
        self._config: ClientConfig | None = None
        self._server: ServerInfo | None = None
        self._recipients: RecipientInfo | None = None
        self._restore_config: RestoreConfig | None = None
        self._share: FileShare | None = None
        self._mounted = False
        self._probe_left: PurePosixPath | None = None
        self._runs: dict[Month, list[MonthRun]] = {}
        self._eoy_month: int | None = None
        self.months: list[MonthFreshnessMachine] = []

    @property
    def prefix(self) -> str:
        """Return the client name."""
        return self._client

    # ------------------------------------------------------------------ config

    @node(
        entry=True,
        happy=("check_retention",),
        unhappy=("report_results",),
        on_exception="report_results",
    )
    def read_config(self) -> Step:
        """Read every config key once and validate them into one model."""
        try:
            self._config = read_client_config(self._source, self._client, self._redactor)
        except ClientConfigError as exc:
            return self.failure(self.report_results, f"invalid client config: {exc}")
        return self.success(self.check_retention)

    @node(happy=("connect_server",), unhappy=("connect_server",), on_exception="connect_server")
    def check_retention(self) -> Step:
        """Check that both tiers keep runs at least a day, and year-ends at least as long."""
        config = self._loaded()
        problems = retention_problems(config.end_of_month_retention, config.end_of_year_retention)
        if problems:
            return self.failure(
                self.connect_server, f"retention is not sane: {'; '.join(problems)}"
            )
        return self.success(self.connect_server)

    # ------------------------------------------------------------------ server

    @node(
        happy=("check_privileges",),
        unhappy=("load_public_key",),
        on_exception="load_public_key",
    )
    def connect_server(self) -> Step:
        """Log in to PostgreSQL with the configured auth and read its version."""
        self._server = self._ports.database.server_info(server_target(self._loaded()))
        logger.info("server version %s", self._server.version)
        return self.success(self.check_privileges)

    @node(happy=("check_pg_dump",), unhappy=("check_pg_dump",), on_exception="check_pg_dump")
    def check_privileges(self) -> Step:
        """Check that the backup role can read every table and sequence of every database."""
        config = self._loaded()
        target = server_target(config)
        exclude = self._policy.exclude_everywhere | config.exclude_databases
        databases = self._ports.database.list_databases(target, exclude)
        problems = []
        for database in sorted(databases, key=lambda db: db.name):
            try:
                tables = self._ports.database.unreadable_tables(target, database.name)
            except DatabaseError as exc:
                problems.append(f"{database.name}: {exc}")
                continue
            if tables:
                shown = ", ".join(tables[:MAX_TABLES_SHOWN])
                more = len(tables) - MAX_TABLES_SHOWN
                problems.append(
                    f"{database.name}: {shown}{f' and {more} more' if more > 0 else ''}"
                )
        logger.info("privileges checked in %d databases", len(databases))
        if problems:
            return self.failure(
                self.check_pg_dump,
                f"the backup role {config.login_user} cannot read everything pg_dump needs "
                f"(grant it pg_read_all_data, or SELECT and USAGE): {'; '.join(problems)}",
            )
        return self.success(self.check_pg_dump)

    @node(happy=("load_public_key",), unhappy=("load_public_key",), on_exception="load_public_key")
    def check_pg_dump(self) -> Step:
        """Check that a pg_dump at least as new as the server is installed."""
        if self._server is None:
            raise RuntimeError("connect_server has not run")
        chosen = self._ports.dumper.select(self._server)
        logger.info("pg_dump %s for server %s", chosen.version, self._server.version)
        return self.success(self.load_public_key)

    # ------------------------------------------------------------------ keys

    @node(
        happy=("check_key_expiry",),
        unhappy=("dispose_public_key",),
        on_exception="dispose_public_key",
    )
    def load_public_key(self) -> Step:
        """Import the public key (and escrow key) and check it against `key-name`."""
        config = self._loaded()
        self._recipients = self._ports.encryptor.load_recipients(
            config.public_key, config.key_name, config.escrow_public_key
        )
        return self.success(self.check_key_expiry)

    @node(
        happy=("read_restore_config",),
        unhappy=("read_restore_config",),
        on_exception="read_restore_config",
    )
    def check_key_expiry(self) -> Step:
        """Check that neither key stops encrypting within the warning time (90 days)."""
        recipients = self._recipients
        if recipients is None:
            raise RuntimeError("load_public_key has not run")
        now = self._ports.clock.now()
        problems = [
            _expiry_problem(what, fingerprint, expires, now)
            for what, fingerprint, expires in (
                ("the public key", recipients.fingerprint, recipients.expires),
                ("the escrow key", recipients.escrow_fingerprint, recipients.escrow_expires),
            )
            if fingerprint and expires is not None and expires <= now + self._policy.key_warning
        ]
        if problems:
            return self.failure(self.read_restore_config, "; ".join(problems))
        return self.success(self.read_restore_config)

    @node(
        happy=("load_private_key", "dispose_public_key"),
        unhappy=("dispose_public_key",),
        on_exception="dispose_public_key",
    )
    def read_restore_config(self) -> Step:
        """Read the private key and its passphrase, when a restore vault was given."""
        if self._restore_source is None:
            return self.success(self.dispose_public_key)
        try:
            self._restore_config = read_restore_config(self._restore_source, self._redactor)
        except RestoreConfigError as exc:
            return self.failure(self.dispose_public_key, f"invalid restore config: {exc}")
        return self.success(self.load_private_key)

    @node(
        happy=("decrypt_sample",),
        unhappy=("dispose_private_key",),
        on_exception="dispose_private_key",
    )
    def load_private_key(self) -> Step:
        """Import the private key into a throw-away keyring and unlock it with the passphrase."""
        config = self._restore_config
        if config is None:
            raise RuntimeError("read_restore_config has not run")
        self._ports.decryptor.load_key(config.key_bytes, config.private_key_passphrase)
        return self.success(self.decrypt_sample)

    @node(
        happy=("dispose_private_key",),
        unhappy=("dispose_private_key",),
        on_exception="dispose_private_key",
    )
    def decrypt_sample(self) -> Step:
        """Encrypt a sample to the public key and decrypt it with the private key."""
        cipher = self._ports.encryptor.encrypt([SAMPLE])
        with closing(cipher):
            message = b"".join(cipher)
        plain = self._ports.decryptor.decrypt([message])
        try:
            with closing(plain):
                opened = b"".join(plain)
        except DecryptionError as exc:
            return self.failure(
                self.dispose_private_key,
                "the restore config's private key cannot decrypt what the public key encrypts "
                f"(are they one key pair?): {exc}",
            )
        if opened != SAMPLE:
            return self.failure(
                self.dispose_private_key, "the private key decrypts the sample to something else"
            )
        return self.success(self.dispose_private_key)

    @node(
        happy=("dispose_public_key",),
        unhappy=("dispose_public_key",),
        on_exception="dispose_public_key",
    )
    def dispose_private_key(self) -> Step:
        """Remove the throw-away keyring holding the private key."""
        self._ports.decryptor.dispose()
        return self.success(self.dispose_public_key)

    @node(happy=("open_share",), unhappy=("open_share",), on_exception="open_share")
    def dispose_public_key(self) -> Step:
        """Remove the throw-away keyring holding the public key."""
        self._ports.encryptor.dispose()
        return self.success(self.open_share)

    # ------------------------------------------------------------------ share

    @node(happy=("mount_share",), unhappy=("report_results",), on_exception="report_results")
    def open_share(self) -> Step:
        """Build the share adapter that fits `storage-unc`."""
        config = self._loaded()
        target = ShareTarget(
            client=self._client,
            unc=config.storage_unc,
            user=config.storage_name,
            key=config.storage_key,
        )
        self._share = self._ports.opener.open(target)
        return self.success(self.mount_share)

    @node(happy=("probe_share",), unhappy=("report_results",), on_exception="report_results")
    def mount_share(self) -> Step:
        """Mount the share, or reuse a mount of the same share."""
        outcome = self._opened().mount()
        self._mounted = outcome is MountOutcome.MOUNTED
        return self.success(self.probe_share)

    @node(happy=("remove_probe",), unhappy=("remove_probe",), on_exception="remove_probe")
    def probe_share(self) -> Step:
        """Write a probe file at the share root, rename it, read it back and delete it."""
        share = self._opened()
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

    @node(happy=("survey_runs",), unhappy=("survey_runs",), on_exception="survey_runs")
    def remove_probe(self) -> Step:
        """Remove what a failed probe left behind."""
        left, self._probe_left = self._probe_left, None
        if left is not None and self._opened().exists(left):
            self._opened().delete_file(left)
        return self.success(self.survey_runs)

    @node(happy=("check_freshness",), unhappy=("unmount_share",), on_exception="unmount_share")
    def survey_runs(self) -> Step:
        """Read every published run's manifest: which month it covers, whether it is complete."""
        catalog = RunCatalog(self._opened())
        now = self._ports.clock.now()
        read: list[tuple[StoredRun, Manifest | None]] = []
        for run in catalog.all_runs():
            if run.run_id.started > now:
                continue
            try:
                read.append((run, catalog.manifest(run)))
            except InvalidManifestError as exc:
                logger.warning("%s", exc)
                read.append((run, None))
        manifests = [manifest for _, manifest in read if manifest is not None]
        if not manifests:
            if read:
                return self.failure(
                    self.unmount_share,
                    f"none of the {len(read)} runs on the share has a readable manifest",
                )
            logger.info("no runs on the share yet: nothing to be fresh")
            return self.success(self.check_freshness)
        newest = max(manifests, key=lambda manifest: manifest.run_id)
        self._eoy_month = newest.eoy_month
        runs: dict[Month, list[MonthRun]] = defaultdict(list)
        for run, manifest in read:
            # A run's own manifest says which month ended its fiscal year when it was taken.
            eoy_month = manifest.eoy_month if manifest is not None else self._eoy_month
            month = covered_month(run.tier, run.period, eoy_month)
            if month is not None:
                runs[month].append(MonthRun(run, manifest is not None and manifest.complete))
        self._runs = dict(runs)
        return self.success(self.check_freshness)

    @node(happy=("unmount_share",), unhappy=("unmount_share",), on_exception="unmount_share")
    def check_freshness(self) -> Step:
        """Check every required month for a complete run; one result per month."""
        if not self._runs or self._eoy_month is None:
            return self.success(self.unmount_share)
        config = self._loaded()
        policy = FreshnessPolicy(
            eoy_month=self._eoy_month,
            end_of_month_days=config.end_of_month_retention,
            end_of_year_days=config.end_of_year_retention,
            timezone=self._policy.timezone,
            period_offset_months=self._policy.period_offset_months,
        )
        months = required_months(min(self._runs), self._ports.clock.now(), policy)
        self.months = [
            MonthFreshnessMachine(
                client=self._client,
                month=month,
                folder=month.folder(self._eoy_month),
                runs=self._runs.get(month, []),
            )
            for month in months
        ]
        for child in self.months:
            self.add_results(child.execute())
        return self.success(self.unmount_share)

    @node(happy=("report_results",), unhappy=("report_results",), on_exception="report_results")
    def unmount_share(self) -> Step:
        """Unmount the share if this run mounted it."""
        if self._mounted:
            self._mounted = False
            self._opened().unmount()
        return self.success(self.report_results)

    # ------------------------------------------------------------------ helpers

    def release_all(self) -> None:
        """Dispose of both keyrings and unmount; used when the machine itself broke."""
        for release in (self._ports.decryptor.dispose, self._ports.encryptor.dispose):
            try:
                release()
            except Exception:
                logger.exception("emergency keyring disposal failed")
        if self._mounted and self._share is not None:
            self._mounted = False
            try:
                self._share.unmount()
            except Exception:
                logger.exception("emergency unmount failed")

    def summary(self, results: list[Result]) -> str:
        """Return one line: ready or how many problems, and how many months were checked."""
        problems = len(failures(results))
        verdict = "ready" if not problems else f"{problems} problem{'s' if problems != 1 else ''}"
        return f"check {self._client}: {verdict}, {len(self.months)} months of runs checked"

    def _loaded(self) -> ClientConfig:
        if self._config is None:
            raise RuntimeError("read_config has not run")
        return self._config

    def _opened(self) -> FileShare:
        if self._share is None:
            raise RuntimeError("open_share has not run")
        return self._share


def _expiry_problem(what: str, fingerprint: str, expires: datetime, now: datetime) -> str:
    if expires <= now:
        return f"{what} {fingerprint} expired on {expires.date().isoformat()}"
    days = (expires - now).days
    return (
        f"{what} {fingerprint} expires on {expires.date().isoformat()} (in {days} days): extend "
        "it (gpg --quick-set-expire) and store the new public key"
    )


CheckMachineFactory = Callable[[], CheckClientMachine]
