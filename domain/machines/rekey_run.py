"""Re-encrypt one run to the client's current keys, never leaving it unrestorable (SPEC 14).

The protocol (docs/architecture.md, "Re-encrypting runs"), in the order of the nodes:

1. `clear_debris`: remove what an earlier, killed rekey left (`domain.rules.rekeying.debris`);
   a switched manifest that a non-atomic rename left only as manifest.json.next is put back.
2. `check_signature`: a run whose signature does not hold is never re-encrypted (that would
   launder a changed run into a freshly signed one).
3. `reencrypt_files`: every stored file is re-encrypted beside the old one under a new name
   (RekeyFileMachine); the old files are untouched.
4. `write_manifest`: SHA256SUMS.next, RESTORE.txt.next, the new manifest's signature (named
   after the manifest) and, last, manifest.json.next.
5. `switch_manifest`: one atomic replace of manifest.json: the commit point. Before it the run
   is complete in its old form, after it in its new form; every reader accepts both.
6. `complete_switch`: the signature, SHA256SUMS and RESTORE.txt replace the old ones.
7. `remove_old_files`, then `record_rekey` appends to the chained `rekey.jsonl`.

A run already on the current keys takes the short way (`finish_switch`): whatever an interrupted
rekey did not finish (a waiting signature, SHA256SUMS, RESTORE.txt, debris) is finished and
recorded. A failure before the switch removes the new files again (`remove_new_files`), judged
against the manifest then on the share, so a switch that happened is never undone.
Failure prefix: `<client> <run path>`.

Longer than 300 lines: one machine whose nodes are the protocol's steps, read in their order.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from domain.framework.definition import node
from domain.framework.fanout import fan_out
from domain.framework.machine import Machine, Step
from domain.framework.results import failures
from domain.framework.slot import Slot
from domain.machines.rekey_file import RekeyFileMachine
from domain.models.hold import HOLD_FILE
from domain.models.manifest import (
    MANIFEST_FILE,
    RESTORE_FILE,
    SIGNATURE_FILE,
    SUMS_FILE,
    Manifest,
)
from domain.models.run import StoredRun
from domain.models.signing import UNREQUIRED, SigningPolicy
from domain.rules.rekeying import (
    PENDING_MANIFEST,
    PENDING_SUFFIX,
    NewKeys,
    debris,
    needs_rekey,
    pending_signature,
    rekeyed_manifest,
    rekeyed_name,
)
from domain.rules.restore_text import restore_text
from domain.services.audit_log import AuditLog
from domain.services.catalog import RunCatalog
from domain.services.rekey_state import REKEY_LOG, stored_records, sums_differ, unrecorded
from domain.services.run_signature import SignatureState, check_run_signature
from ports.clock import Clock
from ports.decryptor import DecryptionKeys
from ports.encryptor import Recipients
from ports.file_share import FileShare
from ports.signature_checker import TrustedKeys
from ports.signer import SigningKey
from ports.task_runner import TaskRunner

logger = logging.getLogger("lts.rekey")

HOLD_NOTE = "held: a HOLD protects a run from deletion, not from re-encryption"


@dataclass(frozen=True, slots=True)
class RekeyKeys:
    """What re-encrypting runs uses: the private keys, the new keys, signing and checking."""

    keys: DecryptionKeys
    recipients: Recipients
    new: NewKeys
    signing: SigningKey | None = None
    trusted: TrustedKeys | None = None
    policy: SigningPolicy = UNREQUIRED


class RekeyRunMachine(Machine):
    """Re-encrypt one run's files and switch its manifest, or finish what a killed rekey began."""

    manifest_bytes = Slot[bytes]("read_manifest")
    manifest = Slot[Manifest]("read_manifest")
    new_manifest = Slot[bytes]("write_manifest")

    def __init__(
        self,
        *,
        client: str,
        run: StoredRun,
        share: FileShare,
        keys: RekeyKeys,
        runner: TaskRunner,
        clock: Clock,
    ) -> None:
        super().__init__()
        self._client = client
        self._run = run
        self._dir = run.path
        self._share = share
        self._keys = keys
        self._runner = runner
        self._clock = clock
        self._catalog = RunCatalog(share)
        self.held = False
        self.current = False
        self.files: list[RekeyFileMachine] = []
        self.switched = False
        self.removed: list[str] = []
        self.finished: list[str] = []
        self.signature = SignatureState.UNSIGNED
        self.recorded = False

    @property
    def prefix(self) -> str:
        """Return `<client> <run path>`."""
        return f"{self._client} {self._dir}"

    # ------------------------------------------------------------------ nodes

    @node(
        entry=True,
        happy=("clear_debris",),
        unhappy=("report_results",),
        on_exception="report_results",
    )
    def read_manifest(self) -> Step:
        """Read the run's manifest as stored, and whether it is already on the current keys."""
        self.manifest_bytes, self.manifest = self._catalog.manifest_bytes(self._run)
        self.held = self._share.exists(self._dir / HOLD_FILE)
        manifest, new = self.manifest, self._keys.new
        self.current = not needs_rekey(manifest.key_fingerprint, manifest.escrow_fingerprint, new)
        return self.success(self.clear_debris)

    @node(
        happy=("check_signature", "finish_switch"),
        unhappy=("report_results",),
        on_exception="report_results",
    )
    def clear_debris(self) -> Step:
        """Remove what killed rekeys left; put back a switched manifest left as .next."""
        if not self._share.exists(self._dir / MANIFEST_FILE):
            self._share.rename(self._dir / PENDING_MANIFEST, self._dir / MANIFEST_FILE)
            self.finished.append(MANIFEST_FILE)
        keep = {pending_signature(self.manifest_bytes)} if self.current else set()
        self.removed += self._clear(self.manifest, keep)
        if self.current:
            return self.success(self.finish_switch)
        return self.success(self.check_signature)

    @node(happy=("reencrypt_files",), unhappy=("report_results",), on_exception="report_results")
    def check_signature(self) -> Step:
        """Refuse a run whose signature does not hold: rekeying would re-sign a changed run."""
        keys = self._keys
        finding = check_run_signature(
            self._share, self._dir, (self.manifest_bytes, self.manifest), keys.trusted, keys.policy
        )
        self.signature = finding.state
        if finding.problem is not None:
            return self.failure(self.report_results, f"{finding.problem}; not re-encrypted")
        signed = finding.state in (SignatureState.GOOD, SignatureState.UNCHECKED)
        if signed and keys.signing is None:
            return self.failure(
                self.report_results,
                "is signed, but no [signing] key_file is set to sign its new manifest; "
                "not re-encrypted",
            )
        return self.success(self.reencrypt_files)

    @node(happy=("write_manifest",), unhappy=("remove_new_files",), on_exception="remove_new_files")
    def reencrypt_files(self) -> Step:
        """Re-encrypt every stored file beside the old one; their results land before this one."""
        keys, tag = self._keys, self._keys.new.tag
        self.files = [
            RekeyFileMachine(
                client=self._client,
                run_dir=self._dir,
                record=record,
                new_name=rekeyed_name(record.file, tag),
                share=self._share,
                keys=keys.keys,
                recipients=keys.recipients,
            )
            for record in stored_records(self.manifest)
        ]
        results = fan_out(self._runner, self.files)
        self.add_results(results)
        if failures(results) or not all(child.done for child in self.files):
            return self.failure(
                self.remove_new_files, "not every file was re-encrypted; the run is unchanged"
            )
        return self.success(self.write_manifest)

    @node(
        happy=("switch_manifest",), unhappy=("remove_new_files",), on_exception="remove_new_files"
    )
    def write_manifest(self) -> Step:
        """Write the new manifest, its signature, SHA256SUMS and RESTORE.txt as pending files."""
        keys = self._keys
        signing = keys.signing
        new = NewKeys(
            key_name=keys.new.key_name,
            fingerprint=keys.new.fingerprint,
            escrow_fingerprint=keys.new.escrow_fingerprint,
            signing_fingerprint=signing.info.fingerprint if signing else None,
        )
        moved = {child.record.file: child.stored for child in self.files}
        raw: dict[str, Any] = json.loads(self.manifest_bytes)
        self.new_manifest = rekeyed_manifest(raw, moved, new)
        manifest = Manifest.model_validate_json(self.new_manifest)
        pending = [
            (f"{SUMS_FILE}{PENDING_SUFFIX}", manifest.sha256sums()),
            (f"{RESTORE_FILE}{PENDING_SUFFIX}", restore_text(manifest)),
        ]
        if signing is not None:
            pending.append(
                (pending_signature(self.new_manifest), signing.sign([self.new_manifest]))
            )
        # The manifest goes last: a pending manifest always has everything it needs beside it.
        pending.append((PENDING_MANIFEST, self.new_manifest))
        for name, content in pending:
            self._share.write_stream(self._dir / name, [content])
        return self.success(self.switch_manifest)

    @node(
        happy=("complete_switch",), unhappy=("remove_new_files",), on_exception="remove_new_files"
    )
    def switch_manifest(self) -> Step:
        """Replace manifest.json with the new one in one atomic rename: the commit point."""
        self._share.replace(self._dir / PENDING_MANIFEST, self._dir / MANIFEST_FILE)
        self.switched = True
        logger.info("%s switched to key %s", self._dir, self._keys.new.fingerprint)
        return self.success(self.complete_switch)

    @node(
        happy=("remove_old_files",),
        unhappy=("remove_old_files",),
        on_exception="remove_old_files",
        cleanup=True,
    )
    def complete_switch(self) -> Step:
        """Put the new signature, SHA256SUMS and RESTORE.txt in place of the old ones."""
        waiting = pending_signature(self.new_manifest)
        if self._share.exists(self._dir / waiting):
            self._share.replace(self._dir / waiting, self._dir / SIGNATURE_FILE)
        elif self._share.exists(self._dir / SIGNATURE_FILE):
            # Only an unsigned new manifest gets here: the old signature no longer fits it.
            self._share.delete_file(self._dir / SIGNATURE_FILE)
        for name in (SUMS_FILE, RESTORE_FILE):
            self._share.replace(self._dir / f"{name}{PENDING_SUFFIX}", self._dir / name)
        return self.success(self.remove_old_files)

    @node(happy=("record_rekey",), unhappy=("record_rekey",), on_exception="record_rekey")
    def remove_old_files(self) -> Step:
        """Remove the files encrypted to the old keys, now that no manifest names them."""
        for child in self.files:
            old = self._dir / child.record.file
            if self._share.exists(old):
                self._share.delete_file(old)
        return self.success(self.record_rekey)

    @node(happy=("record_rekey",), unhappy=("record_rekey",), on_exception="record_rekey")
    def finish_switch(self) -> Step:
        """Finish what an interrupted rekey left of a run already on the current keys."""
        waiting = pending_signature(self.manifest_bytes)
        if self._share.exists(self._dir / waiting):
            self._share.replace(self._dir / waiting, self._dir / SIGNATURE_FILE)
            self.finished.append(SIGNATURE_FILE)
        manifest, data = self.manifest, self.manifest_bytes
        if unrecorded(self._share, data, manifest, self._keys.new.tag):
            self.finished.append(REKEY_LOG.name)
        if self.removed or self.finished or sums_differ(self._share, self._dir, manifest):
            manifest = self.manifest
            for name, content in (
                (SUMS_FILE, manifest.sha256sums()),
                (RESTORE_FILE, restore_text(manifest)),
            ):
                self._share.write_stream(self._dir / f"{name}{PENDING_SUFFIX}", [content])
                self._share.replace(self._dir / f"{name}{PENDING_SUFFIX}", self._dir / name)
                self.finished.append(name)
        return self.success(self.record_rekey)

    @node(
        happy=("report_results",),
        unhappy=("report_results",),
        on_exception="report_results",
        cleanup=True,
    )
    def record_rekey(self) -> Step:
        """Append what was done to the chained rekey.jsonl at the share root."""
        entry = self._entry()
        if entry is not None:
            AuditLog(self._share, REKEY_LOG).append(entry)
            self.recorded = True
        return self.success(self.report_results)

    @node(
        happy=("report_results",),
        unhappy=("report_results",),
        on_exception="report_results",
        cleanup=True,
    )
    def remove_new_files(self) -> Step:
        """Remove the new files of a rekey that did not switch; the old run stays as it was."""
        data, manifest = self._catalog.manifest_bytes(self._run)
        self._clear(manifest, set())
        if data != self.manifest_bytes:
            logger.warning("%s was switched after all; its new files are kept", self._dir)
        return self.success(self.report_results)

    # ------------------------------------------------------------------ helpers

    def _clear(self, manifest: Manifest, keep: set[str]) -> list[str]:
        names = [entry.name for entry in self._share.list_dir(self._dir) if not entry.is_dir]
        stored = {record.file for record in stored_records(manifest)}
        found = [name for name in debris(names, stored) if name not in keep]
        for name in found:
            self._share.delete_file(self._dir / name)
        if found:
            logger.info("%s: removed %s, left by an earlier rekey", self._dir, ", ".join(found))
        return found

    def _entry(self) -> dict[str, object] | None:
        base: dict[str, object] = {
            "time": self._clock.now().isoformat(),
            "run": str(self._dir),
            "held": self.held,
        }
        manifest = self.new_manifest if self.switched else self.manifest_bytes
        base["manifest_sha256"] = hashlib.sha256(manifest).hexdigest()
        if self.held:
            base["note"] = HOLD_NOTE
        if self.switched:
            old, new = self.manifest, self._keys.new
            signing = self._keys.signing
            return {
                **base,
                "event": "rekeyed",
                "from": {"key_fingerprint": old.key_fingerprint, "escrow": old.escrow_fingerprint},
                "to": {
                    "key_name": new.key_name,
                    "key_fingerprint": new.fingerprint,
                    "escrow": new.escrow_fingerprint,
                },
                "old_signature": str(self.signature),
                "signed_by": signing.info.fingerprint if signing else None,
                "files": [_file_entry(child) for child in self.files],
            }
        if self.current and (self.removed or self.finished):
            return {
                **base,
                "event": "finished",
                "key_fingerprint": self.manifest.key_fingerprint,
                "removed": self.removed,
                "restored": self.finished,
            }
        return None


def _file_entry(child: RekeyFileMachine) -> dict[str, object]:
    stored, plain = child.stored, child.plaintext
    return {
        "name": child.record.name,
        "from": child.record.file,
        "to": stored.file,
        "bytes": stored.bytes,
        "sha256": stored.sha256,
        "plain_bytes": plain.bytes,
        "plain_sha256": plain.sha256,
    }
