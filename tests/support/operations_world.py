"""The check, create_client and archive machines wired to in-memory adapters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

from pydantic import SecretStr

from adapters.memory.basics import (
    FixedClock,
    InMemoryConfigSource,
    RecordingConsole,
    RecordingExit,
)
from adapters.memory.encryptor import InMemoryEncryptor
from adapters.memory.file_share import InMemoryFileShare, InMemoryShareOpener
from adapters.memory.onboarding import InMemoryConfigStore, InMemoryKeyGenerator
from adapters.memory.postgres import InMemoryDatabase, InMemoryDumper
from adapters.memory.restore import InMemoryDecryptor, InMemoryLocalFiles
from domain.framework.machine import Machine
from domain.machines.archive import ArchiveFileMachine
from domain.machines.check import CheckClientMachine, CheckPorts
from domain.machines.create_client import CreateClientMachine, OnboardingPorts
from domain.machines.mount import ClientContext, DynamicMountingEndPoint, MountShareMachine
from domain.machines.releasing import ReleasingEndPoint
from domain.models.operations import ArchiveRequest, CheckPolicy, NewClient
from domain.models.redaction import Redactor
from ports.config_source import ConfigSource
from tests.support.memory_world import PG_SECRET, client_values
from tests.support.restore_world import restore_values

PROBE = ".lts-check-test-1"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@dataclass
class CheckWorld:
    """Every in-memory adapter the check touches, with defaults a test can replace."""

    values: dict[str, str] = field(default_factory=client_values)
    restore: dict[str, str] | None = field(default_factory=restore_values)
    sizes: dict[str, int] = field(default_factory=lambda: {"sales": 300, "hr": 100})
    now: datetime = NOW
    share: InMemoryFileShare = field(default_factory=InMemoryFileShare)
    database: InMemoryDatabase | None = None
    dumper: InMemoryDumper = field(default_factory=InMemoryDumper)
    encryptor: InMemoryEncryptor = field(default_factory=InMemoryEncryptor)
    decryptor: InMemoryDecryptor = field(default_factory=InMemoryDecryptor)
    opener_error: Exception | None = None
    source_error: Exception | None = None
    redactor: Redactor = field(default_factory=Redactor)

    def __post_init__(self) -> None:
        self.clock = FixedClock(self.now)
        self.console = RecordingConsole()
        self.exit = RecordingExit()
        self.database = self.database or InMemoryDatabase(self.sizes)
        self.opener = InMemoryShareOpener(self.share, error=self.opener_error)
        self.source = InMemoryConfigSource(self.values, error=self.source_error)  # type: ignore[arg-type]
        self.restore_source = (
            InMemoryConfigSource(self.restore) if self.restore is not None else None
        )
        self.machine: Any = None

    def check_machine(
        self,
        source: ConfigSource | None = None,
        restore_source: ConfigSource | None = None,
    ) -> CheckClientMachine:
        assert self.database is not None
        machine = self.machine = CheckClientMachine(
            client="acme",
            source=source or self.source,
            ports=CheckPorts(
                database=self.database,
                dumper=self.dumper,
                encryptor=self.encryptor,
                decryptor=self.decryptor,
                clock=self.clock,
                opener=self.opener,
            ),
            policy=CheckPolicy(exclude_everywhere=frozenset({"postgres"})),
            redactor=self.redactor,
            probe_name=PROBE,
            restore_source=restore_source or self.restore_source,
        )
        return machine

    def run_end_point(self, machine_factory: Callable[[], Machine] | None = None) -> None:
        ReleasingEndPoint(
            machine=machine_factory or self.check_machine,
            console=self.console,
            exit=self.exit,
            redactor=self.redactor,
        ).execute()


def new_client(**overrides: object) -> NewClient:
    """Return a valid new client (password auth, a file:// share), with overrides."""
    values: dict[str, object] = {
        "client_name": "acme",
        "postgresql_host": "db.acme.test",
        "postgresql_auth": "password",
        "postgresql_user": "backup",
        "postgresql_secret": SecretStr(PG_SECRET),
        "postgresql_sslmode": "disable",
        "storage_unc": "file:///srv/share",
        "end_of_month_retention": 400,
        "end_of_year_retention": 3650,
        "exclude_databases": ("scratch",),
    }
    values.update(overrides)
    return NewClient(**values)  # type: ignore[arg-type]


@dataclass
class OnboardingWorld:
    """A check world whose configs start empty and are written by create_client."""

    client: NewClient = field(default_factory=new_client)
    backup_store: InMemoryConfigStore = field(default_factory=InMemoryConfigStore)
    restore_store: InMemoryConfigStore = field(default_factory=InMemoryConfigStore)
    key_generator: InMemoryKeyGenerator = field(default_factory=InMemoryKeyGenerator)
    check: CheckWorld = field(default_factory=CheckWorld)

    def __post_init__(self) -> None:
        self.machine: Any = None

    def check_machine(self) -> CheckClientMachine:
        # The check reads back what create_client wrote.
        return self.check.check_machine(self.backup_store, self.restore_store)

    def create_machine(self) -> CreateClientMachine:
        machine = self.machine = CreateClientMachine(
            new_client=self.client,
            ports=OnboardingPorts(
                key_generator=self.key_generator,
                backup_writer=self.backup_store,
                restore_writer=self.restore_store,
                opener=self.check.opener,
            ),
            check=self.check_machine,
            backup_config_url="file:///etc/lts/acme.toml",
            redactor=self.check.redactor,
        )
        return machine


@dataclass
class ArchiveWorld:
    """A share, a local file and the archive job around them."""

    check: CheckWorld = field(default_factory=CheckWorld)
    files: InMemoryLocalFiles = field(default_factory=InMemoryLocalFiles)
    file: PurePosixPath = field(default_factory=lambda: PurePosixPath("/home/op/report 2026.pdf"))
    content: bytes = b"%PDF-1.7 quarterly report\n" * 10
    folder: str | None = "contracts"

    def __post_init__(self) -> None:
        self.files.files[self.file] = self.content
        self.machine: Any = None

    def build(self, context: ClientContext) -> ArchiveFileMachine:
        machine = self.machine = ArchiveFileMachine(
            context,
            request=ArchiveRequest(file=self.file, folder=self.folder),
            encryptor=self.check.encryptor,
            files=self.files,
            clock=self.check.clock,
        )
        return machine

    def mount_machine(self) -> MountShareMachine:
        return MountShareMachine(
            client="acme",
            source=self.check.source,
            opener=self.check.opener,
            inner=self.build,
            redactor=self.check.redactor,
            lock=None,
        )

    def run_end_point(self) -> None:
        DynamicMountingEndPoint(
            machine=self.mount_machine,
            console=self.check.console,
            exit=self.check.exit,
            redactor=self.check.redactor,
        ).execute()
