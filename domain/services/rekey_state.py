"""What a run on the share holds of a rekey: its stored files and what a killed rekey left.

Read-only helpers of the rekey job (SPEC 14): the rekey job's plan (and its dry run) and
RekeyRunMachine both ask what a run already on the current keys still needs, so that the answer
is the same in both places. `rekey.jsonl` entries carry the sha256 of the manifest they
switched a run to, which tells a run whose rekey was recorded from one stopped just before.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import PurePosixPath

from domain.models.manifest import MANIFEST_FILE, SUMS_FILE, DumpRecord, DumpStatus, Manifest
from domain.models.run import StoredRun
from domain.rules.rekeying import PENDING_MANIFEST, debris, pending_signature, rekeyed_name
from domain.services.audit_log import AuditLog
from ports.file_share import FileShare

REKEY_LOG = PurePosixPath("rekey.jsonl")


def unfinished(
    share: FileShare, run: StoredRun, data: bytes, manifest: Manifest, tag: str
) -> list[str]:
    """Return what interrupted rekeys left unfinished in a run already on the current keys.

    `data` and `manifest` are the run's manifest as read (manifest.json, or the pending one when
    manifest.json is missing); `tag` the current keys' file tag. Nothing is changed.
    """
    names = [entry.name for entry in share.list_dir(run.path) if not entry.is_dir]
    waiting = pending_signature(data)
    found = [
        name
        for name in debris(names, {r.file for r in stored_records(manifest)})
        if name != waiting
    ]
    if MANIFEST_FILE not in names:
        found.append(PENDING_MANIFEST)
    if waiting in names:
        found.append(waiting)
    if sums_differ(share, run.path, manifest):
        found.append(SUMS_FILE)
    if unrecorded(share, data, manifest, tag):
        found.append(REKEY_LOG.name)
    return found


def sums_differ(share: FileShare, run_dir: PurePosixPath, manifest: Manifest) -> bool:
    """Tell whether the run's SHA256SUMS is missing or not the one its manifest makes."""
    path = run_dir / SUMS_FILE
    if not share.exists(path):
        return True
    return b"".join(share.read_stream(path)) != manifest.sha256sums()


def unrecorded(share: FileShare, data: bytes, manifest: Manifest, tag: str) -> bool:
    """Tell whether a rekey switched this run but was stopped before it recorded that."""
    if not any(
        record.file == rekeyed_name(record.file, tag) for record in stored_records(manifest)
    ):
        return False
    digest = hashlib.sha256(data).hexdigest()
    for line in AuditLog(share, REKEY_LOG).lines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("manifest_sha256") == digest:
            return False
    return True


def stored_records(manifest: Manifest) -> list[DumpRecord]:
    """Return the records of the run's stored files: the globals and every ok dump."""
    records = [manifest.globals, *manifest.databases] if manifest.globals else manifest.databases
    return [r for r in records if r is not None and r.status is DumpStatus.OK and r.file]
