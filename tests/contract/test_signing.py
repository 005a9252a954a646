"""The Signer and SignatureChecker contract, against the in-memory adapters and the real gpg."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.gpg.signing import GpgSigner
from adapters.gpg.verifying import GpgSignatureChecker
from adapters.memory.signer import InMemorySignatureChecker, InMemorySigner
from domain.models.redaction import Redactor
from ports.errors import SigningError
from ports.signature_checker import SignatureChecker, SignatureStatus
from ports.signer import Signer
from tests.support.gpg import KeyPair, generate_key_pair


@dataclass
class SigningCase:
    signer: Signer
    stranger: Signer
    """Signs with a key the checker does not trust."""
    checker: SignatureChecker


@pytest.fixture(scope="module")
def signing_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[KeyPair, KeyPair]:
    directory = tmp_path_factory.mktemp("signing")
    return (
        generate_key_pair(directory, "lts signing", "signing@x.example", None),
        generate_key_pair(directory, "someone", "someone@x.example", None),
    )


def key_file(path: Path, pair: KeyPair) -> Path:
    path.write_bytes(pair.secret_armored)
    path.chmod(0o600)
    return path


@pytest.fixture(
    params=[
        pytest.param("memory", id="memory"),
        pytest.param("gpg", id="gpg", marks=pytest.mark.integration),
    ]
)
def case(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SigningCase]:
    if request.param == "memory":
        yield SigningCase(
            InMemorySigner(), InMemorySigner(fingerprint="6" * 40), InMemorySignatureChecker()
        )
        return
    ours, theirs = request.getfixturevalue("signing_keys")
    public = tmp_path / "trusted.asc"
    public.write_bytes(ours.public_armored)
    work = tmp_path / "work"
    built = SigningCase(
        GpgSigner(key_file(tmp_path / "ours.asc", ours), work, Redactor()),
        GpgSigner(key_file(tmp_path / "theirs.asc", theirs), work, Redactor()),
        GpgSignatureChecker([public], work, Redactor()),
    )
    yield built
    assert list(work.iterdir()) == [], "every keyring is removed"


class TestSigningContract:
    def test_a_signature_of_the_data_checks_good_and_names_the_signer(self, case) -> None:
        key, trusted = case.signer.load(), case.checker.load()
        try:
            data = b'{"run_id": "20261128T220000Z"}\n' + os.urandom(100_000)
            signature = key.sign([data[:10], data[10:]])
            check = trusted.check(data, signature)
            assert check.status is SignatureStatus.GOOD
            assert check.signer == key.info.fingerprint
            assert trusted.fingerprints == (key.info.fingerprint,)
        finally:
            key.close()
            trusted.close()

    def test_a_changed_byte_is_a_bad_signature(self, case) -> None:
        key, trusted = case.signer.load(), case.checker.load()
        try:
            signature = key.sign([b"manifest bytes"])
            assert trusted.check(b"manifest byteS", signature).status is SignatureStatus.BAD
        finally:
            key.close()
            trusted.close()

    def test_a_signature_by_another_key_is_untrusted(self, case) -> None:
        key, trusted = case.stranger.load(), case.checker.load()
        try:
            check = trusted.check(b"data", key.sign([b"data"]))
            assert check.status is SignatureStatus.UNTRUSTED
            assert check.signer
            assert key.info.fingerprint.endswith(check.signer[-16:])
        finally:
            key.close()
            trusted.close()

    def test_something_that_is_no_signature_is_invalid(self, case) -> None:
        trusted = case.checker.load()
        try:
            check = trusted.check(b"data", b"-----BEGIN NOTHING-----\n")
            assert check.status is SignatureStatus.INVALID
            assert check.detail == "not an OpenPGP signature"
        finally:
            trusted.close()

    def test_closed_handles_refuse_work_and_close_again_quietly(self, case) -> None:
        key, trusted = case.signer.load(), case.checker.load()
        key.close()
        key.close()
        trusted.close()
        trusted.close()
        with pytest.raises(SigningError):
            key.sign([b"x"])
        with pytest.raises(SigningError):
            trusted.check(b"x", b"y")

    def test_close_all_closes_what_is_still_open(self, case) -> None:
        key, trusted = case.signer.load(), case.checker.load()
        case.signer.close_all()
        case.checker.close_all()
        with pytest.raises(SigningError):
            key.sign([b"x"])
        with pytest.raises(SigningError):
            trusted.check(b"x", b"y")
