"""The check, create_client and archive machines wired to in-memory adapters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath
from typing import Any

from pydantic import SecretStr

from adapters.memory.clock import FixedClock
from adapters.memory.config_source import InMemoryConfigSource
from adapters.memory.config_store import InMemoryConfigStore
from adapters.memory.console import RecordingConsole
from adapters.memory.decompressor import InMemoryDecompressor
from adapters.memory.decryptor import InMemoryDecryptor
from adapters.memory.encryptor import InMemoryEncryptor
from adapters.memory.exit import RecordingExit
from adapters.memory.file_share import InMemoryFileShare, InMemoryShareOpener
from adapters.memory.key_generator import InMemoryKeyGenerator
from adapters.memory.local_files import InMemoryLocalFiles
from adapters.memory.postgres import InMemoryDatabase, InMemoryDumper
from adapters.memory.signer import InMemorySignatureChecker, InMemorySigner
from domain.framework.endpoints import DynamicMountingEndPoint
from domain.framework.machine import Machine
from domain.machines.archive import ArchiveFileMachine
from domain.machines.check import CheckClientMachine, CheckPorts
from domain.machines.create_client import CreateClientMachine, OnboardingPorts
from domain.machines.mount import ClientContext, MountShareMachine
from domain.models.operations import ArchiveRequest, CheckPolicy, NewClient
from domain.models.redaction import Redactor
from domain.models.signing import SigningKeyFiles
from ports.config_source import ConfigSource
from tests.support.memory_world import PG_SECRET, client_values
from tests.support.restore_world import KEY_VAULT, restore_values

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
    decompressor: InMemoryDecompressor = field(default_factory=InMemoryDecompressor)
    compression: str = "zstd:1"
    opener_error: Exception | None = None
    source_error: Exception | None = None
    redactor: Redactor = field(default_factory=Redactor)
    signer: InMemorySigner | None = None
    checker: InMemorySignatureChecker | None = None
    drill_max_age: timedelta | None = None

    def __post_init__(self) -> None:
        self.clock = FixedClock(self.now)
        self.console = RecordingConsole()
        self.exit = RecordingExit()
        self.database = self.database or InMemoryDatabase(self.sizes)
        self.opener = InMemoryShareOpener(self.share, error=self.opener_error)
        self.source = InMemoryConfigSource(self.values, error=self.source_error)  # type: ignore[arg-type]
        self.restore_source: ConfigSource | None = (
            InMemoryConfigSource(self.restore) if self.restore is not None else None
        )
        self.machine: Any = None

    def check_machine(self, context: ClientContext) -> CheckClientMachine:
        assert self.database is not None
        machine = self.machine = CheckClientMachine(
            context,
            ports=CheckPorts(
                database=self.database,
                dumper=self.dumper,
                encryptor=self.encryptor,
                decryptor=self.decryptor,
                clock=self.clock,
                decompressor=self.decompressor,
                signer=self.signer,
                checker=self.checker,
            ),
            policy=CheckPolicy(
                exclude_everywhere=frozenset({"postgres"}),
                compression=self.compression,
                drill_max_age=self.drill_max_age,
            ),
            redactor=self.redactor,
            probe_name=PROBE,
            restore_source=self.restore_source,
        )
        return machine

    def mount(
        self,
        inner: Callable[[ClientContext], Machine],
        job: str = "check",
        source: ConfigSource | None = None,
    ) -> MountShareMachine:
        return MountShareMachine(
            inner,
            job=job,
            client="acme",
            source=source or self.source,
            opener=self.opener,
            redactor=self.redactor,
            lock=None,
            config_url=KEY_VAULT,
        )

    def mount_machine(self) -> MountShareMachine:
        return self.mount(self.check_machine)

    def run_end_point(
        self,
        inner: Callable[[ClientContext], Machine] | None = None,
        mount: Callable[[Callable[[ClientContext], Machine]], Machine] | None = None,
    ) -> None:
        DynamicMountingEndPoint(
            mount=mount or self.mount,
            job=inner or self.check_machine,
            console=self.console,
            exit=self.exit,
            redactor=self.redactor,
            guards=[self.encryptor.close_all, self.decryptor.close_all],
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
    signing_key: SigningKeyFiles | None = None
    files: InMemoryLocalFiles = field(default_factory=InMemoryLocalFiles)

    def __post_init__(self) -> None:
        self.machine: Any = None

    def check_machine(self, context: ClientContext) -> CheckClientMachine:
        # The check's restore config is what create_client wrote.
        self.check.restore_source = self.restore_store
        return self.check.check_machine(context)

    def create_machine(self, context: ClientContext) -> CreateClientMachine:
        machine = self.machine = CreateClientMachine(
            context,
            new_client=self.client,
            ports=OnboardingPorts(
                key_generator=self.key_generator,
                backup_writer=self.backup_store,
                restore_writer=self.restore_store,
                backup_source=self.backup_store,
                files=self.files,
            ),
            check=self.check_machine,
            backup_config_url="file:///etc/lts/acme.toml",
            redactor=self.check.redactor,
            signing_key=self.signing_key,
        )
        return machine

    def mount(self, inner: Callable[[ClientContext], Machine]) -> MountShareMachine:
        """The mounting machine of create_client: it reads the new client's draft settings."""
        draft = InMemoryConfigSource(self.client.draft_values())
        return self.check.mount(inner, job="create_client", source=draft)

    def mount_machine(self) -> MountShareMachine:
        return self.mount(self.create_machine)

    def run_end_point(self) -> None:
        self.check.run_end_point(self.create_machine, self.mount)


@dataclass
class ArchiveWorld:
    """A share, a local file and the archive job around them."""

    check: CheckWorld = field(default_factory=CheckWorld)
    files: InMemoryLocalFiles = field(default_factory=InMemoryLocalFiles)
    file: PurePosixPath = field(default_factory=lambda: PurePosixPath("/home/op/report 2026.pdf"))
    content: bytes = b"%PDF-1.7 quarterly report\n" * 10
    folder: str | None = "contracts"
    signer: InMemorySigner | None = None

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
            signer=self.signer,
        )
        return machine

    def mount_machine(self) -> MountShareMachine:
        return self.check.mount(self.build, job="archive")

    def run_end_point(self) -> None:
        self.check.run_end_point(self.build, lambda inner: self.check.mount(inner, job="archive"))
