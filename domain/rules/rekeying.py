"""The names a rekey gives files in a run directory, and what it leaves for the next one (SPEC 14).

Pure decisions of the rekey protocol (docs/architecture.md, "Re-encrypting runs"):

- A re-encrypted file is written beside the old one under a new name that carries the new
  keys' long key ids (`sales.dump.<KEYID>.gpg`, `...<KEYID>-<ESCROWID>.gpg` with an escrow
  key), so old and new coexist until the manifest switches; the manifest maps databases to
  files, so the name may change.
- The new manifest waits as `manifest.json.next`, its signature as
  `manifest.json.asc.<first 16 hex digits of the new manifest's sha256>`: a signature named
  after the manifest it signs, so a reader that finds manifest.json switched but
  manifest.json.asc not yet can still find the signature that matches, and a later rekey never
  mistakes another attempt's signature for this manifest's.
- Everything else a killed rekey leaves (new files never switched to, old files after the
  switch, pending files) is debris: recognised by name, never named by the manifest.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from domain.models.manifest import MANIFEST_FILE, RESTORE_FILE, SIGNATURE_FILE, SUMS_FILE

PENDING_SUFFIX = ".next"
PENDING_MANIFEST = f"{MANIFEST_FILE}{PENDING_SUFFIX}"
PENDING_FILES = frozenset(f"{name}{PENDING_SUFFIX}" for name in (SUMS_FILE, RESTORE_FILE))
"""SHA256SUMS and RESTORE.txt of a new manifest, waiting to replace the old ones."""
ENCRYPTED_SUFFIX = ".gpg"
PARTIAL_SUFFIX = ".partial"
KEY_ID_DIGITS = 16
SIGNATURE_DIGEST_DIGITS = 16

_TAG = re.compile(r"\.[0-9A-F]{16}(-[0-9A-F]{16})?$")
_PENDING_SIGNATURE = re.compile(rf"^{re.escape(SIGNATURE_FILE)}\.[0-9a-f]{{16}}$")


def pending_signature(manifest: bytes) -> str:
    """Return the name the signature of `manifest` waits under until it replaces the old one."""
    digest = hashlib.sha256(manifest).hexdigest()[:SIGNATURE_DIGEST_DIGITS]
    return f"{SIGNATURE_FILE}.{digest}"


def key_tag(fingerprint: str, escrow_fingerprint: str | None) -> str:
    """Return the tag of files encrypted to these keys: their long key ids, upper-case."""
    tag = fingerprint.upper()[-KEY_ID_DIGITS:]
    if escrow_fingerprint:
        tag += f"-{escrow_fingerprint.upper()[-KEY_ID_DIGITS:]}"
    return tag


def base_name(file: str) -> str:
    """Return a stored file's name without `.gpg` and without a rekey's key tag."""
    return _TAG.sub("", file.removesuffix(ENCRYPTED_SUFFIX))


def rekeyed_name(file: str, tag: str) -> str:
    """Return the name `file` gets once re-encrypted to the keys of `tag`.

    `sales.dump.gpg` -> `sales.dump.<tag>.gpg`; an older tag is replaced, so names do not grow
    with each rotation. The extensions before it (`.dump`, `.dump.zst`, `.sql`) stay.
    """
    return f"{base_name(file)}.{tag}{ENCRYPTED_SUFFIX}"


def is_pending(name: str) -> bool:
    """Tell whether `name` is a file a rekey writes before its switch (manifest, sums, text)."""
    return name == PENDING_MANIFEST or name in PENDING_FILES or is_pending_signature(name)


def is_pending_signature(name: str) -> bool:
    """Tell whether `name` is a signature waiting to become manifest.json.asc."""
    return bool(_PENDING_SIGNATURE.match(name))


def debris(names: Iterable[str], stored: Collection[str]) -> list[str]:
    """Return the names in a run directory that rekeys left behind, given the manifest's files.

    Debris is another key's copy of a stored file (same base name, not named by the manifest),
    a partial write of one, and a pending manifest, signature, SHA256SUMS or RESTORE.txt.
    Anything else (HOLD, files other jobs keep there) is never debris.
    """
    bases = {base_name(file) for file in stored}
    found = []
    for name in names:
        whole = name.removesuffix(PARTIAL_SUFFIX)
        partial = whole != name
        if name in stored:
            continue
        if is_pending(whole) or (
            whole.endswith(ENCRYPTED_SUFFIX)
            and base_name(whole) in bases
            and (partial or whole not in stored)
        ):
            found.append(name)
    return sorted(found)


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A re-encrypted file as the new manifest records it."""

    file: str
    bytes: int
    sha256: str


@dataclass(frozen=True, slots=True)
class NewKeys:
    """The keys a run is re-encrypted to, and the key that signs its new manifest."""

    key_name: str
    fingerprint: str
    escrow_fingerprint: str | None = None
    signing_fingerprint: str | None = None

    @property
    def tag(self) -> str:
        """Return the tag of the files encrypted to these keys."""
        return key_tag(self.fingerprint, self.escrow_fingerprint)


def needs_rekey(fingerprint: str, escrow_fingerprint: str | None, keys: NewKeys) -> bool:
    """Tell whether a run encrypted to these fingerprints is not yet on `keys`."""
    same_key = fingerprint.upper() == keys.fingerprint.upper()
    same_escrow = (escrow_fingerprint or "").upper() == (keys.escrow_fingerprint or "").upper()
    return not (same_key and same_escrow)


def rekeyed_manifest(
    raw: Mapping[str, Any], moved: Mapping[str, StoredFile], keys: NewKeys
) -> bytes:
    """Return the new manifest.json: `raw` with the moved files and the new keys, as JSON.

    Works on the manifest as it was read (every field kept, also fields this version does not
    know), changing only the records of moved files and the key fields.
    """
    manifest = copy.deepcopy(dict(raw))
    records = [manifest.get("globals"), *manifest.get("databases", [])]
    for record in records:
        if isinstance(record, dict) and record.get("file") in moved:
            new = moved[record["file"]]
            record.update(file=new.file, bytes=new.bytes, sha256=new.sha256)
    manifest.update(
        key_name=keys.key_name,
        key_fingerprint=keys.fingerprint,
        escrow_fingerprint=keys.escrow_fingerprint,
        signing_fingerprint=keys.signing_fingerprint,
    )
    return json.dumps(manifest, indent=2, ensure_ascii=False).encode() + b"\n"
