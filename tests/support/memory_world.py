"""A whole backup world in memory: config, share, server, dumper, encryptor, clock."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime

from adapters.memory.clock import FixedClock
from adapters.memory.config_source import InMemoryConfigSource
from adapters.memory.console import RecordingConsole
from adapters.memory.encryptor import InMemoryEncryptor
from adapters.memory.exit import RecordingExit
from adapters.memory.file_share import InMemoryFileShare, InMemoryShareOpener
from adapters.memory.host_processes import InMemoryHostProcesses
from adapters.memory.lock import InMemoryLock
from adapters.memory.postgres import InMemoryDatabase, InMemoryDumper
from adapters.memory.signer import InMemorySigner
from adapters.memory.task_runner import SerialTaskRunner
from domain.framework.endpoints import DynamicMountingEndPoint
from domain.machines.backup import BackupClientMachine, BackupPorts
from domain.machines.mount import ClientContext, MountShareMachine
from domain.models.policy import BackupPolicy
from domain.models.redaction import Redactor

PG_SECRET = "pg-secret-value-123"
STORAGE_KEY = "storage-key-value-456"


def client_values(**overrides: str | None) -> dict[str, str]:
    """Return a valid raw client config, with overrides (a value of None removes the key)."""
    values: dict[str, str | None] = {
        "client-name": "acme",
        "postgresql-host": "db.acme.test",
        "postgresql-port": "5432",
        "postgresql-auth": "password",
        "postgresql-user": "backup",
        "postgresql-secret": PG_SECRET,
        "postgresql-sslmode": "disable",
        "key-name": "acme",
        "public-key": base64.b64encode(b"public key bytes").decode(),
        "exclude-databases": "scratch",
        "storage-unc": "file:///srv/share",
        "end-of-month-retention": "400",
        "end-of-year-retention": "3650",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


@dataclass
class World:
    """Every in-memory adapter a backup touches, with defaults a test can replace."""

    values: dict[str, str] = field(default_factory=client_values)
    sizes: dict[str, int] = field(
        default_factory=lambda: {"sales": 300, "hr": 100, "crm": 200, "scratch": 50}
    )
    now: datetime = field(default_factory=lambda: datetime(2026, 11, 28, 22, 0, tzinfo=UTC))
    eoy_month: int = 6
    share: InMemoryFileShare = field(default_factory=InMemoryFileShare)
    dumper: InMemoryDumper = field(default_factory=InMemoryDumper)
    encryptor: InMemoryEncryptor = field(default_factory=InMemoryEncryptor)
    lock_table: dict[str, str] = field(default_factory=dict)
    policy_overrides: dict[str, object] = field(default_factory=dict)
    redactor: Redactor = field(default_factory=Redactor)
    processes: InMemoryHostProcesses = field(default_factory=InMemoryHostProcesses)
    source_error: Exception | None = None
    opener_error: Exception | None = None
    database_error: Exception | None = None
    signer: InMemorySigner | None = None

    def __post_init__(self) -> None:
        self.clock = FixedClock(self.now)
        self.console = RecordingConsole()
        self.exit = RecordingExit()
        self.source = InMemoryConfigSource(self.values, error=self.source_error)  # type: ignore[arg-type]
        self.database = InMemoryDatabase(self.sizes, error=self.database_error)  # type: ignore[arg-type]
        self.opener = InMemoryShareOpener(self.share, error=self.opener_error)
        self.lock = InMemoryLock(self.lock_table)
        self.backup: BackupClientMachine | None = None

    def policy(self) -> BackupPolicy:
        # In-memory dumps are a few dozen bytes, so the near-empty threshold is lowered.
        settings: dict[str, object] = {"min_dump_bytes": 16, **self.policy_overrides}
        return BackupPolicy(
            eoy_month=self.eoy_month,
            exclude_everywhere=frozenset({"postgres"}),
            tool_version="test",
            **settings,  # type: ignore[arg-type]
        )

    def backup_machine(self, context: ClientContext) -> BackupClientMachine:
        self.backup = BackupClientMachine(
            context,
            ports=BackupPorts(
                database=self.database,
                dumper=self.dumper,
                encryptor=self.encryptor,
                clock=self.clock,
                runner=SerialTaskRunner(),
                retention_runner=SerialTaskRunner(),
                console=self.console,
                signer=self.signer,
            ),
            policy=self.policy(),
            lock_owner="host test pid 42",
            processes=self.processes,
        )
        return self.backup

    def mount(self, inner) -> MountShareMachine:
        return MountShareMachine(
            inner,
            job="backup",
            client="acme",
            source=self.source,
            opener=self.opener,
            redactor=self.redactor,
            lock=self.lock,
        )

    def mount_machine(self) -> MountShareMachine:
        return self.mount(self.backup_machine)

    def run_end_point(self) -> None:
        DynamicMountingEndPoint(
            mount=self.mount,
            job=self.backup_machine,
            console=self.console,
            exit=self.exit,
            redactor=self.redactor,
        ).execute()
