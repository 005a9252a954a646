"""Judge a run's signature: manifest.json against manifest.json.asc and the trusted keys.

Used by verify (every run it checks) and rekey (a run is re-signed only when its signature
held). The signature of a manifest that a rekey switched to but whose signature had not yet
replaced the old one waits under a name of its own (`domain.rules.rekeying`): it counts too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath

from domain.models.manifest import SIGNATURE_FILE, Manifest
from domain.models.signing import SigningPolicy
from domain.rules.rekeying import pending_signature
from ports.file_share import FileShare
from ports.signature_checker import SignatureCheck, SignatureStatus, TrustedKeys

logger = logging.getLogger("lts.signing")

MAX_SIGNATURE_BYTES = 1024 * 1024
"""A detached signature is a few hundred bytes; a larger file is not one."""


class SignatureState(StrEnum):
    """What verify found about a run's signature."""

    GOOD = "good"
    UNSIGNED = "unsigned"
    UNCHECKED = "unchecked"
    BROKEN = "broken"


@dataclass(frozen=True, slots=True)
class SignatureFinding:
    """The verdict on a run's signature: its state, and the Failure text when it is one."""

    state: SignatureState
    problem: str | None = None
    signer: str = ""


def check_run_signature(
    share: FileShare,
    run_dir: PurePosixPath,
    manifest: tuple[bytes, Manifest],
    trusted: TrustedKeys | None,
    policy: SigningPolicy,
) -> SignatureFinding:
    """Check `manifest` (its bytes as stored, and parsed) against the run's signature files.

    A good signature by a trusted key over exactly these bytes passes (and must be by the key
    the manifest names, when it names one). A bad or untrusted signature is a Failure; so is a
    missing one when `policy.require`, or when the manifest names a signing key. Without
    trusted keys, signatures are not checked (a warning in the log).
    """
    data, parsed = manifest
    candidates = [
        run_dir / name
        for name in (SIGNATURE_FILE, pending_signature(data))
        if share.exists(run_dir / name)
    ]
    if not candidates:
        return _unsigned(run_dir, parsed, policy)
    if trusted is None:
        logger.warning("%s is signed, but its signature is not checked: no trusted keys", run_dir)
        return SignatureFinding(SignatureState.UNCHECKED)
    checks = [(path, trusted.check(data, _read(share, path))) for path in candidates]
    good = next(((path, check) for path, check in checks if check.good), None)
    if good is None:
        path, check = checks[0]
        return SignatureFinding(SignatureState.BROKEN, _broken(path.name, check), check.signer)
    path, check = good
    named = parsed.signing_fingerprint
    if named and named.upper() != check.signer.upper():
        return SignatureFinding(
            SignatureState.BROKEN,
            f"manifest.json is signed by key {check.signer}, but it names signing key {named}",
            check.signer,
        )
    if path.name != SIGNATURE_FILE:
        logger.info("%s: the signature waits as %s (a rekey's switch was cut short)", run_dir, path)
    if check.detail:
        logger.info("%s: signature by %s: %s", run_dir, check.signer, check.detail)
    return SignatureFinding(SignatureState.GOOD, signer=check.signer)


def _unsigned(
    run_dir: PurePosixPath, manifest: Manifest, policy: SigningPolicy
) -> SignatureFinding:
    if manifest.signing_fingerprint:
        return SignatureFinding(
            SignatureState.BROKEN,
            f"{SIGNATURE_FILE} is missing, but the manifest names signing key "
            f"{manifest.signing_fingerprint}",
        )
    if policy.require:
        return SignatureFinding(
            SignatureState.BROKEN, f"is not signed ({SIGNATURE_FILE} is missing; [signing] require)"
        )
    logger.warning("%s is not signed", run_dir)
    return SignatureFinding(SignatureState.UNSIGNED)


def _broken(name: str, check: SignatureCheck) -> str:
    if check.status is SignatureStatus.BAD:
        return (
            f"manifest.json does not match its signature {name} (key {check.signer}): "
            "the manifest was changed after it was signed"
        )
    if check.status is SignatureStatus.UNTRUSTED:
        return f"{name} is signed by key {check.signer}, which is not a [signing] trusted key"
    return f"{name} is not a valid signature: {check.detail or check.status}"


def _read(share: FileShare, path: PurePosixPath) -> bytes:
    data = bytearray()
    for chunk in share.read_stream(path):
        data.extend(chunk)
        if len(data) > MAX_SIGNATURE_BYTES:
            break
    return bytes(data)
