"""Runs made by the in-memory backup under one key, and the rekey job to move them to another."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import PurePosixPath
from typing import Any

from adapters.memory.console import RecordingConsole
from adapters.memory.decryptor import InMemoryDecryptor
from adapters.memory.encryptor import InMemoryEncryptor
from adapters.memory.file_share import InMemoryFileShare
from adapters.memory.host_processes import InMemoryHostProcesses
from adapters.memory.lock import InMemoryLock
from adapters.memory.signer import InMemorySignatureChecker, InMemorySigner
from adapters.memory.task_runner import SerialTaskRunner
from domain.machines.mount import ClientContext, MountShareMachine
from domain.machines.rekey import RekeyClientMachine, RekeyPorts
from domain.models.manifest import Manifest
from domain.models.restore_request import ALL, RekeyRequest, RunChoice
from domain.models.run import StoredRun
from domain.models.signing import SigningPolicy
from domain.services.catalog import RunCatalog
from domain.services.run_signature import SignatureState, check_run_signature
from tests.support.restore_world import KEY_VAULT, RestoreWorld

NEW_KEY = "A" * 40


@dataclass
class RekeyWorld:
    """Two runs encrypted to key F...F (signed or not), and a rekey to key A...A."""

    signed: bool = False
    runs: int = 2
    encryptor: InMemoryEncryptor = field(
        default_factory=lambda: InMemoryEncryptor(fingerprint=NEW_KEY)
    )
    decryptor: InMemoryDecryptor = field(default_factory=InMemoryDecryptor)
    signer: InMemorySigner | None = None
    checker: InMemorySignatureChecker | None = None
    require: bool = False
    share_lock_max_age: timedelta = timedelta(hours=48)
    processes: InMemoryHostProcesses | None = None
    """This host's processes, for the share marker's liveness rule; None: the age rule only
    (the crash tests leave a marker of this very process, as a killed run of another would)."""

    def __post_init__(self) -> None:
        if self.signed:
            self.signer = self.signer or InMemorySigner()
            self.checker = self.checker or InMemorySignatureChecker()
        self.restore = RestoreWorld(runs=self.runs, signer=self.signer if self.signed else None)
        self.backup = self.restore.backup
        self.share: InMemoryFileShare = self.restore.share
        self.console = RecordingConsole()
        self.lock = InMemoryLock({})
        self.machine: Any = None

    def rekey_machine(self, choice: RunChoice = ALL, *, dry_run: bool = False) -> MountShareMachine:
        def build(context: ClientContext) -> RekeyClientMachine:
            machine = self.machine = RekeyClientMachine(
                context,
                ports=RekeyPorts(
                    encryptor=self.encryptor,
                    decryptor=self.decryptor,
                    clock=self.backup.clock,
                    runner=SerialTaskRunner(),
                    console=self.console,
                    signer=self.signer,
                    checker=self.checker,
                ),
                request=RekeyRequest(run=choice, dry_run=dry_run),
                restore_source=self.restore.restore_source,
                redactor=self.restore.redactor,
                policy=SigningPolicy(require=self.require),
                lock_owner="host test pid 7",
                share_lock_max_age=self.share_lock_max_age,
                processes=self.processes,
            )
            return machine

        return MountShareMachine(
            build,
            job="rekey",
            client="acme",
            source=self.backup.source,
            opener=self.backup.opener,
            redactor=self.restore.redactor,
            lock=self.lock,
            config_url=KEY_VAULT,
        )

    def rekey(self, choice: RunChoice = ALL, *, dry_run: bool = False):
        self.backup.clock.advance(timedelta(minutes=1))
        return self.rekey_machine(choice, dry_run=dry_run).execute()

    def runs_on_share(self) -> list[StoredRun]:
        return RunCatalog(self.share).all_runs()

    def manifest(self, run: StoredRun) -> Manifest:
        return RunCatalog(self.share).manifest(run)

    def log(self) -> list[dict[str, Any]]:
        path = PurePosixPath("rekey.jsonl")
        if path not in self.share.files:
            return []
        return [json.loads(line) for line in self.share.files[path].decode().splitlines()]

    def complete(self, run: StoredRun) -> Manifest:
        """Assert that `run` is complete in one form: its manifest, files and signature agree."""
        catalog = RunCatalog(self.share)
        data, manifest = catalog.manifest_bytes(run)
        records = (
            [manifest.globals, *manifest.databases] if manifest.globals else manifest.databases
        )
        for record in records:
            if record is None or not record.sha256:
                continue
            stored = self.share.files[run.path / record.file]
            assert len(stored) == record.bytes, record.file
            assert hashlib.sha256(stored).hexdigest() == record.sha256, record.file
            assert InMemoryEncryptor.decrypt(stored), record.file
        trusted = self.checker.load() if self.checker else None
        finding = check_run_signature(
            self.share, run.path, (data, manifest), trusted, SigningPolicy(require=self.require)
        )
        if trusted is not None:
            trusted.close()
        assert finding.problem is None, finding.problem
        if self.signed:
            assert finding.state is SignatureState.GOOD
        return manifest
