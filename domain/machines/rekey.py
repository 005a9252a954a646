"""The rekey job: re-encrypt a client's runs to its current public key (SPEC 14, `rekey`).

Runs inside MountShareMachine with the client's lock, and takes the share's lock marker like a
backup, so no backup or retention changes the tiers meanwhile. It loads the client config's
current `public-key` (and `escrow-public-key`), the restore config's private keys, and proves
that those private keys open what the current public key encrypts before it changes anything:
a rekey to a key whose private half is not in the restore config would make every run it
touches unrestorable with that config. Then each chosen run is re-encrypted, one after the
other, by RekeyRunMachine (whose protocol keeps every run complete in its old or its new form
at every instant); runs already on the current keys only get what a killed rekey left finished.
Runs with a HOLD are re-encrypted too, and rekey.jsonl says so. `--dry-run` loads only the
public key, lists what would be done and changes nothing. Failure prefix: `<client>`.

Longer than 300 lines: one machine whose nodes are read top to bottom in the order they run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from domain.framework.definition import node
from domain.framework.machine import Step, describe
from domain.framework.results import Failure, Result, failures
from domain.framework.slot import Slot
from domain.machines.mount import ClientContext
from domain.machines.private_key import PrivateKeySource
from domain.machines.rekey_run import RekeyKeys, RekeyRunMachine
from domain.machines.share_locked import ShareLockedMachine
from domain.models.hold import HOLD_FILE
from domain.models.redaction import Redactor
from domain.models.restore_request import RekeyRequest
from domain.models.run import StoredRun
from domain.models.signing import SigningPolicy
from domain.rules.rekeying import NewKeys, needs_rekey
from domain.services.catalog import RunCatalog
from domain.services.key_proof import sample_problem
from domain.services.rekey_state import unfinished
from domain.services.run_choice import find_runs
from domain.services.share_lock import take_share_lock_step
from ports.clock import Clock
from ports.config_source import ConfigSource
from ports.console import Console
from ports.decryptor import DecryptionKeys, Decryptor
from ports.encryptor import Encryptor, Recipients
from ports.errors import InvalidManifestError
from ports.host_processes import HostProcesses
from ports.signature_checker import SignatureChecker, TrustedKeys
from ports.signer import Signer, SigningKey
from ports.task_runner import TaskRunner

logger = logging.getLogger("lts.rekey")


@dataclass(frozen=True, slots=True)
class RekeyPorts:
    """The ports the rekey job talks through, besides the share."""

    encryptor: Encryptor
    decryptor: Decryptor
    clock: Clock
    runner: TaskRunner
    console: Console
    signer: Signer | None = None
    checker: SignatureChecker | None = None


class Action(StrEnum):
    """What a run needs."""

    REKEY = "rekey"
    FINISH = "finish"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class RunPlan:
    """A chosen run and what it needs; `detail` says why, for the dry run."""

    run: StoredRun
    action: Action
    detail: str


class RekeyClientMachine(ShareLockedMachine):
    """Re-encrypt the chosen runs of a client to its current keys."""

    recipients = Slot[Recipients]("load_public_key")
    keys = Slot[DecryptionKeys]("load_private_keys")
    plans = Slot[list[RunPlan]]("find_runs")

    def __init__(
        self,
        context: ClientContext,
        *,
        ports: RekeyPorts,
        request: RekeyRequest,
        restore_source: ConfigSource,
        redactor: Redactor,
        policy: SigningPolicy,
        lock_owner: str,
        share_lock_max_age: timedelta,
        processes: HostProcesses | None = None,
    ) -> None:
        super().__init__()
        self._config = context.config
        self._share = context.share
        self._catalog = RunCatalog(context.share)
        self._ports = ports
        self._request = request
        self._keys_from = PrivateKeySource(
            restore_source, ports.decryptor, redactor, context.config_url
        )
        self._policy = policy
        self._signing: SigningKey | None = None
        self._trusted: TrustedKeys | None = None
        self.share_lock = context.share_lock(ports.clock, lock_owner, share_lock_max_age, processes)
        self.children: list[RekeyRunMachine] = []

    @property
    def prefix(self) -> str:
        """Return the client name."""
        return self._config.client_name

    # ------------------------------------------------------------------ nodes

    @node(
        entry=True,
        happy=("load_public_key",),
        unhappy=("report_results", "load_public_key"),
        on_exception="report_results",
    )
    def take_share_lock(self) -> Step:
        """Write the share's lock marker (not in a dry run, which changes nothing)."""
        return take_share_lock_step(
            self, self.share_lock, self.load_public_key, dry_run=self._request.dry_run
        )

    @node(
        happy=("load_private_keys", "find_runs"),
        unhappy=("release_share_lock",),
        on_exception="release_share_lock",
    )
    def load_public_key(self) -> Step:
        """Import the current public key (and escrow key) the runs are re-encrypted to."""
        config = self._config
        self.recipients = self._ports.encryptor.load(
            config.public_key, config.key_name, config.escrow_public_key
        )
        if self._request.dry_run:
            return self.success(self.find_runs)
        return self.success(self.load_private_keys)

    @node(
        happy=("check_new_key", "dispose_keys"),
        unhappy=("dispose_keys",),
        on_exception="dispose_keys",
    )
    def load_private_keys(self) -> Step:
        """Read the restore config and load every private key it holds (a child machine)."""
        keys = self._keys_from.load(self)
        if keys is None:
            return self.success(self.dispose_keys)
        self.keys = keys
        return self.success(self.check_new_key)

    @node(happy=("load_signing_key",), unhappy=("dispose_keys",), on_exception="dispose_keys")
    def check_new_key(self) -> Step:
        """Prove that the restore config opens what the current public key encrypts."""
        problem = sample_problem(self.recipients, self.keys)
        if problem is not None:
            return self.failure(
                self.dispose_keys,
                "the restore config holds no private key for the current public key "
                f"{self.recipients.info.fingerprint} ({problem}); add it to private-key (with "
                "the old keys) before re-encrypting: nothing was changed",
            )
        return self.success(self.load_signing_key)

    @node(happy=("load_trusted_keys",), unhappy=("dispose_keys",), on_exception="dispose_keys")
    def load_signing_key(self) -> Step:
        """Load the signing key the new manifests are signed with ([signing] key_file)."""
        if self._ports.signer is not None:
            self._signing = self._ports.signer.load()
        return self.success(self.load_trusted_keys)

    @node(happy=("find_runs",), unhappy=("dispose_keys",), on_exception="dispose_keys")
    def load_trusted_keys(self) -> Step:
        """Load the trusted keys each run's signature is checked with before it is touched."""
        if self._ports.checker is not None:
            self._trusted = self._ports.checker.load()
        return self.success(self.find_runs)

    @node(
        happy=("rekey_runs", "dispose_keys"), unhappy=("dispose_keys",), on_exception="dispose_keys"
    )
    def find_runs(self) -> Step:
        """Choose the runs and what each needs; a dry run prints it and stops here."""
        self.plans = [self._plan(run) for run in find_runs(self._catalog, self._request.run)]
        if not self._request.dry_run:
            return self.success(self.rekey_runs)
        for plan in self.plans:
            if plan.action is not Action.NONE:
                self._ports.console.print(f"would {plan.action} {plan.run.path}: {plan.detail}")
        return self.success(self.dispose_keys)

    @node(happy=("dispose_keys",), unhappy=("dispose_keys",), on_exception="dispose_keys")
    def rekey_runs(self) -> Step:
        """Re-encrypt (or finish) each run in turn; their results land before this one."""
        keys = RekeyKeys(
            keys=self.keys,
            recipients=self.recipients,
            new=self._new_keys(),
            signing=self._signing,
            trusted=self._trusted,
            policy=self._policy,
        )
        for plan in self.plans:
            if plan.action is Action.NONE:
                continue
            child = RekeyRunMachine(
                client=self._config.client_name,
                run=plan.run,
                share=self._share,
                keys=keys,
                runner=self._ports.runner,
                clock=self._ports.clock,
            )
            self.children.append(child)
            # Not through the runner: the run's files use it, and a pool waiting on itself hangs.
            try:
                self.add_results(child.execute())
            except Exception as exc:
                logger.exception("re-encrypting %s broke", plan.run.path)
                message = f"{child.prefix} unrecognized exception: {describe(exc)}"
                self.add_results([Failure(child.entry, message)])
        return self.success(self.dispose_keys)

    @node(
        happy=("release_share_lock",),
        unhappy=("release_share_lock",),
        on_exception="release_share_lock",
        cleanup=True,
    )
    def dispose_keys(self) -> Step:
        """Remove every throw-away keyring: signing, trusted, private and public keys."""
        for handle in (
            self._signing,
            self._trusted,
            RekeyClientMachine.keys.get(self),
            RekeyClientMachine.recipients.get(self),
        ):
            if handle is not None:
                handle.close()
        self._signing = self._trusted = None
        return self.success(self.release_share_lock)

    # ------------------------------------------------------------------ helpers

    def _new_keys(self) -> NewKeys:
        info = self.recipients.info
        return NewKeys(
            key_name=info.key_name,
            fingerprint=info.fingerprint,
            escrow_fingerprint=info.escrow_fingerprint,
        )

    def _plan(self, run: StoredRun) -> RunPlan:
        new = self._new_keys()
        try:
            data, manifest = self._catalog.manifest_bytes(run)
        except InvalidManifestError as exc:
            # RekeyRunMachine reports it as this run's failure.
            return RunPlan(run, Action.REKEY, f"its manifest cannot be read ({exc})")
        held = (
            " (HOLD: re-encrypted all the same)" if self._share.exists(run.path / HOLD_FILE) else ""
        )
        if needs_rekey(manifest.key_fingerprint, manifest.escrow_fingerprint, new):
            stored = [r for r in [manifest.globals, *manifest.databases] if r and r.sha256]
            return RunPlan(
                run,
                Action.REKEY,
                f"{len(stored)} files from key {manifest.key_fingerprint} to key "
                f"{new.fingerprint}{held}",
            )
        left = unfinished(self._share, run, data, manifest, new.tag)
        if left:
            return RunPlan(run, Action.FINISH, f"an interrupted rekey left {', '.join(left)}")
        return RunPlan(run, Action.NONE, f"already on key {new.fingerprint}")

    def summary(self, results: list[Result]) -> str:
        """Return one line: runs re-encrypted, finished, already current, failures."""
        name = self._config.client_name
        plans = RekeyClientMachine.plans.get(self) or []
        current = sum(1 for plan in plans if plan.action is Action.NONE)
        if self._request.dry_run:
            rekey = sum(1 for plan in plans if plan.action is Action.REKEY)
            finish = sum(1 for plan in plans if plan.action is Action.FINISH)
            return (
                f"rekey {name} (dry run): {rekey} runs would be re-encrypted, {finish} finished, "
                f"{current} already on the current key"
            )
        rekeyed = [child for child in self.children if child.switched]
        files = sum(len(child.files) for child in rekeyed)
        finished = sum(1 for child in self.children if child.current and child.recorded)
        return (
            f"rekey {name}: {len(rekeyed)} runs re-encrypted ({files} files), {finished} "
            f"finished, {current} already on the current key, {len(failures(results))} failures"
        )
