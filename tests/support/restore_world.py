"""A share holding backup runs (made by the in-memory backup) and the restore jobs around it."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import PurePosixPath
from typing import Any

from adapters.memory.archive_reader import InMemoryArchiveReader
from adapters.memory.config_source import InMemoryConfigSource
from adapters.memory.decompressor import InMemoryDecompressor
from adapters.memory.decryptor import InMemoryDecryptor
from adapters.memory.local_files import InMemoryLocalFiles
from adapters.memory.restorer import InMemoryRestorer
from adapters.memory.signer import InMemorySignatureChecker, InMemorySigner
from adapters.memory.task_runner import SerialTaskRunner
from domain.framework.endpoints import EndPoint
from domain.machines.decrypt import DecryptDumpMachine
from domain.machines.drill import DrillRunMachine
from domain.machines.mount import ClientContext, MountShareMachine
from domain.machines.restore import RestoreDatabaseMachine
from domain.machines.restore_ports import RestorePorts
from domain.machines.verify import VerifyRunsMachine
from domain.models.restore_request import (
    DecryptRequest,
    DrillRequest,
    RestoreRequest,
    VerifyRequest,
)
from domain.models.signing import SigningPolicy
from tests.support.memory_world import World

PASSPHRASE = "key-passphrase"
PRIVATE_KEY = base64.b64encode(b"-----BEGIN PGP PRIVATE KEY BLOCK-----\nsecret\n").decode()
FIRST = "20261128T220000Z"
SECOND = "20261229T220000Z"
FIRST_RUN = PurePosixPath(f"end-of-month/2026-11/{FIRST}")
KEY_VAULT = "file:///srv/acme.toml"
"""The job's KEY_VAULT, which the restore config's backup-config-host names."""
SECOND_RUN = PurePosixPath(f"end-of-month/2026-12/{SECOND}")


def restore_values(**overrides: str | None) -> dict[str, str]:
    """Return a valid raw restore config, with overrides (None removes a key)."""
    values: dict[str, str | None] = {
        "private-key": PRIVATE_KEY,
        "private-key-passphrase": PASSPHRASE,
        "backup-config-host": KEY_VAULT,
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


@dataclass
class RestoreWorld:
    """Two published runs (sales, crm, hr) on an in-memory share, and the restore ports."""

    runs: int = 2
    restore: dict[str, str] = field(default_factory=restore_values)
    objects: dict[str, int] = field(default_factory=dict)
    restorer_broken: dict[str, Exception] = field(default_factory=dict)
    files_broken: dict[str, Exception] = field(default_factory=dict)
    archives_broken: dict[str, Exception] = field(default_factory=dict)
    decryptor: InMemoryDecryptor = field(default_factory=InMemoryDecryptor)
    decompressor: InMemoryDecompressor = field(default_factory=InMemoryDecompressor)
    compressions: list[str] = field(default_factory=list)
    """The compression of each run, oldest first (default: none, pg_dump's own)."""
    signer: InMemorySigner | None = None
    """Signs the runs the world's backups make."""
    checker: InMemorySignatureChecker | None = None
    """What verify checks signatures with."""
    require_signatures: bool = False
    restorer_switches: dict[str, Any] = field(default_factory=dict)
    config_url: str = KEY_VAULT

    def __post_init__(self) -> None:
        self.backup = World(signer=self.signer)
        for index in range(self.runs):
            if index:
                self.backup.clock.advance(timedelta(days=31))
                self.backup.dumper.chunks += 1
            if index < len(self.compressions):
                self.backup.dumper.compression = self.compressions[index]
            self.backup.run_end_point()
            assert self.backup.exit.code == 0, self.backup.console.lines
        self.share = self.backup.share
        self.redactor = self.backup.redactor
        self.files = InMemoryLocalFiles(broken=self.files_broken)
        self.restorer = InMemoryRestorer(
            self.files, objects=self.objects, broken=self.restorer_broken, **self.restorer_switches
        )
        self.archives = InMemoryArchiveReader(broken=self.archives_broken)
        self.restore_source = InMemoryConfigSource(self.restore)
        self.ports = RestorePorts(
            decryptor=self.decryptor,
            restorer=self.restorer,
            archives=self.archives,
            files=self.files,
            clock=self.backup.clock,
            decompressor=self.decompressor,
        )
        self.machine: Any = None

    def mount(self, inner: object, job: str = "restore") -> MountShareMachine:
        return MountShareMachine(
            inner,  # type: ignore[arg-type]
            job=job,
            client="acme",
            source=self.backup.source,
            opener=self.backup.opener,
            redactor=self.redactor,
            lock=None,
            config_url=self.config_url,
        )

    def restore_machine(self, request: RestoreRequest):
        def build(context: ClientContext) -> RestoreDatabaseMachine:
            machine = RestoreDatabaseMachine(
                context,
                ports=self.ports,
                restore_source=self.restore_source,
                request=request,
                redactor=self.redactor,
            )
            self.machine = machine
            return machine

        return self.mount(build)

    def decrypt_machine(self, request: DecryptRequest):
        def build(context: ClientContext) -> DecryptDumpMachine:
            machine = DecryptDumpMachine(
                context,
                ports=self.ports,
                restore_source=self.restore_source,
                request=request,
                redactor=self.redactor,
            )
            self.machine = machine
            return machine

        return self.mount(build, "decrypt")

    def verify_machine(self, request: VerifyRequest, *, with_key: bool = True):
        def build(context: ClientContext) -> VerifyRunsMachine:
            machine = VerifyRunsMachine(
                context,
                ports=self.ports,
                runner=SerialTaskRunner(),
                request=request,
                redactor=self.redactor,
                restore_source=self.restore_source if with_key else None,
                checker=self.checker,
                policy=SigningPolicy(require=self.require_signatures),
            )
            self.machine = machine
            return machine

        return self.mount(build, "verify")

    def drill_machine(self, request: DrillRequest):
        def build(context: ClientContext) -> DrillRunMachine:
            machine = DrillRunMachine(
                context,
                ports=self.ports,
                restore_source=self.restore_source,
                request=request,
                redactor=self.redactor,
                tool_version="test",
            )
            self.machine = machine
            return machine

        return self.mount(build, "drill")

    def end_point(self, machine: MountShareMachine) -> None:
        self.backup.console.lines.clear()
        self.backup.exit.code = None
        EndPoint(
            machine=lambda: machine,
            console=self.backup.console,
            exit=self.backup.exit,
            redactor=self.redactor,
        ).execute()

    @property
    def lines(self) -> list[str]:
        return self.backup.console.lines

    @property
    def code(self) -> int | None:
        return self.backup.exit.code
