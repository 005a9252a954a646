"""GpgSigner and GpgSignatureChecker with the real gpg: the key file's rules, plain-gpg checks."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.gpg.signing import GpgSigner
from adapters.gpg.verifying import GpgSignatureChecker, verdict
from domain.models.redaction import Redactor
from ports.errors import SigningError
from ports.signature_checker import SignatureStatus
from tests.support.gpg import KeyPair, generate_key_pair, revoked_public_key

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return generate_key_pair(tmp_path_factory.mktemp("k"), "lts signing", "s@x.example", None)


def write_key(path: Path, data: bytes, mode: int = 0o600) -> Path:
    path.write_bytes(data)
    path.chmod(mode)
    return path


def plain_gpg_verify(public: bytes, signature: Path, data: Path, home: Path) -> str:
    """Check a detached signature with plain gpg in a fresh keyring; return its stderr."""
    home.mkdir(mode=0o700)
    env = {"PATH": os.defpath, "HOME": str(home), "GNUPGHOME": str(home)}
    subprocess.run(
        ["gpg", "--batch", "--import"], input=public, env=env, check=True, capture_output=True
    )
    checked = subprocess.run(
        ["gpg", "--batch", "--verify", str(signature), str(data)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    subprocess.run(["gpgconf", "--kill", "all"], env=env, check=False, capture_output=True)
    assert checked.returncode == 0, checked.stderr
    return checked.stderr


def test_a_signature_checks_with_plain_gpg(signing_key: KeyPair, tmp_path: Path) -> None:
    signer = GpgSigner(
        write_key(tmp_path / "key.asc", signing_key.secret_armored), tmp_path / "w", Redactor()
    )
    key = signer.load()
    try:
        manifest = tmp_path / "manifest.json"
        manifest.write_bytes(b'{"client": "acme"}\n')
        signature = tmp_path / "manifest.json.asc"
        signature.write_bytes(key.sign([manifest.read_bytes()]))
    finally:
        key.close()
    assert signature.read_bytes().startswith(b"-----BEGIN PGP SIGNATURE-----")
    said = plain_gpg_verify(signing_key.public_armored, signature, manifest, tmp_path / "plain")
    assert "Good signature" in said
    assert key.info.fingerprint == signing_key.fingerprint
    assert key.info.expires is None


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_a_key_file_open_to_group_or_others_is_refused(signing_key, tmp_path, mode) -> None:
    path = write_key(tmp_path / "key.asc", signing_key.secret_armored, mode)
    with pytest.raises(SigningError) as raised:
        GpgSigner(path, tmp_path / "w", Redactor()).load()
    assert str(raised.value) == (
        f"[signing] key_file {path} is open to group or others (mode {mode:o}); refusing to use "
        f"it: chmod 600 {path}"
    )


def test_a_missing_key_file_a_public_key_and_two_keys_are_refused(signing_key, tmp_path) -> None:
    other = generate_key_pair(tmp_path / "k", "other", "o@x.example", None)
    cases = {
        tmp_path / "missing.asc": "cannot be read: No such file or directory",
        write_key(tmp_path / "public.asc", signing_key.public_armored): "holds no secret key",
        write_key(
            tmp_path / "two.asc", signing_key.secret_armored + other.secret_armored
        ): "holds 2 keys; give exactly one",
        write_key(tmp_path / "junk.asc", b"not a key"): "is not an OpenPGP key",
    }
    for path, reason in cases.items():
        with pytest.raises(SigningError, match=reason):
            GpgSigner(path, tmp_path / "w", Redactor()).load()
    assert list((tmp_path / "w").iterdir()) == []


def test_a_key_protected_by_a_passphrase_is_refused_without_leaking_it(tmp_path) -> None:
    protected = generate_key_pair(tmp_path / "k", "p", "p@x.example", "sign-passphrase-1")
    path = write_key(tmp_path / "key.asc", protected.secret_armored)
    with pytest.raises(SigningError) as raised:
        GpgSigner(path, tmp_path / "w", Redactor()).load()
    assert "is protected by a passphrase; the signing key must have none" in str(raised.value)
    assert "sign-passphrase-1" not in str(raised.value)


def test_an_expiring_key_reports_when_it_stops_signing_and_an_expired_one_is_refused(
    tmp_path,
) -> None:
    expiring = generate_key_pair(tmp_path / "k", "e", "e@x.example", None, expire="30d")
    key = GpgSigner(
        write_key(tmp_path / "e.asc", expiring.secret_armored), tmp_path / "w", Redactor()
    ).load()
    try:
        assert key.info.expires is not None
        days = (key.info.expires - datetime.now(UTC)).days
        assert 28 <= days <= 30
    finally:
        key.close()
    expired = generate_key_pair(
        tmp_path / "k", "x", "x@x.example", None, expire="1d", created="20200101T000000"
    )
    with pytest.raises(SigningError, match="has expired"):
        GpgSigner(
            write_key(tmp_path / "x.asc", expired.secret_armored), tmp_path / "w", Redactor()
        ).load()


def test_trusted_key_files_are_public_keys_only(signing_key, tmp_path) -> None:
    secret = write_key(tmp_path / "secret.asc", signing_key.secret_armored)
    with pytest.raises(SigningError, match="holds secret key material"):
        GpgSignatureChecker([secret], tmp_path / "w", Redactor()).load()
    with pytest.raises(SigningError, match="cannot be read"):
        GpgSignatureChecker([tmp_path / "none.asc"], tmp_path / "w", Redactor()).load()


def test_a_signature_by_a_revoked_key_is_invalid(tmp_path) -> None:
    pair = generate_key_pair(tmp_path / "k", "r", "r@x.example", None)
    key = GpgSigner(
        write_key(tmp_path / "r.asc", pair.secret_armored), tmp_path / "w", Redactor()
    ).load()
    signature = key.sign([b"data"])
    key.close()
    public = tmp_path / "revoked.asc"
    public.write_bytes(revoked_public_key(pair))
    trusted = GpgSignatureChecker([public], tmp_path / "w", Redactor()).load()
    try:
        check = trusted.check(b"data", signature)
    finally:
        trusted.close()
    assert (check.status, check.detail) == (
        SignatureStatus.INVALID,
        "made by a key that has been revoked",
    )


def test_status_lines_with_a_good_and_a_bad_signature_are_bad() -> None:
    status = (
        "[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG AAAA x\n"
        "[GNUPG:] VALIDSIG A 2026 1 0 4 0 22 10 00 " + "A" * 40 + "\n"
        "[GNUPG:] NEWSIG\n[GNUPG:] BADSIG BBBB y\n"
    )
    assert verdict(status).status is SignatureStatus.BAD


def test_the_hosts_own_signing_key_is_trusted_without_listing_it(signing_key, tmp_path) -> None:
    key_file = write_key(tmp_path / "key.asc", signing_key.secret_armored)
    other = generate_key_pair(tmp_path / "k", "o", "o@x.example", None)
    public = tmp_path / "other.pub.asc"
    public.write_bytes(other.public_armored)
    key = GpgSigner(key_file, tmp_path / "w", Redactor()).load()
    signature = key.sign([b"manifest"])
    key.close()
    for listed in ([], [public]):
        trusted = GpgSignatureChecker(
            listed, tmp_path / "w", Redactor(), signing_key_file=key_file
        ).load()
        try:
            assert signing_key.fingerprint in trusted.fingerprints
            assert trusted.check(b"manifest", signature).good
            assert trusted.check(b"manifesT", signature).status is SignatureStatus.BAD
        finally:
            trusted.close()
    assert list((tmp_path / "w").iterdir()) == []
