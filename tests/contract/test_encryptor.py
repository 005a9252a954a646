"""The Encryptor contract, run against InMemoryEncryptor and GpgEncryptor (the real gpg).

Each adapter comes as an `EncryptorCase`: the encryptor, a public key and the names it does and
does not answer to, an escrow key, and how to decrypt what it wrote (plain gpg for the real one).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.gpg.encryptor import GpgEncryptor
from adapters.memory.encryptor import InMemoryEncryptor
from domain.models.redaction import Redactor
from ports.encryptor import Encryptor
from ports.errors import DumpError, EncryptionError, KeyMismatchError
from tests.support.gpg import KeyPair, decrypt, generate_key_pair


@dataclass
class EncryptorCase:
    encryptor: Encryptor
    public_key: bytes
    key_name: str
    other_name: str
    escrow_key: bytes
    decrypt: Callable[[bytes], bytes]


@pytest.fixture(scope="module")
def client_key(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return generate_key_pair(tmp_path_factory.mktemp("keys"), "Acme", "backup@acme.example", None)


@pytest.fixture(scope="module")
def escrow_key(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return generate_key_pair(tmp_path_factory.mktemp("escrow"), "Escrow", "escrow@x.example", None)


@pytest.fixture(
    params=[
        pytest.param("memory", id="memory"),
        pytest.param("gpg", id="gpg", marks=pytest.mark.integration),
    ]
)
def case(request: pytest.FixtureRequest, tmp_path: Path) -> EncryptorCase:
    if request.param == "memory":
        return EncryptorCase(
            encryptor=InMemoryEncryptor(key_names=("acme",)),
            public_key=b"acme public key",
            key_name="acme",
            other_name="globex",
            escrow_key=b"escrow public key",
            decrypt=InMemoryEncryptor.decrypt,
        )
    client: KeyPair = request.getfixturevalue("client_key")
    escrow: KeyPair = request.getfixturevalue("escrow_key")
    return EncryptorCase(
        encryptor=GpgEncryptor(tmp_path / "work", Redactor()),
        public_key=client.public_armored,
        key_name="backup",
        other_name="globex",
        escrow_key=escrow.public_armored,
        decrypt=lambda data: decrypt(client, data),
    )


class TestEncryptorContract:
    def test_loaded_recipients_name_the_key_they_answer_to(self, case: EncryptorCase) -> None:
        recipients = case.encryptor.load(case.public_key, case.key_name)
        try:
            info = recipients.info
        finally:
            recipients.close()

        assert info.key_name == case.key_name
        assert info.fingerprint
        assert info.user_ids
        assert info.escrow_fingerprint is None

    def test_an_escrow_key_becomes_a_second_recipient(self, case: EncryptorCase) -> None:
        recipients = case.encryptor.load(case.public_key, case.key_name, case.escrow_key)
        try:
            assert recipients.info.escrow_fingerprint
            assert recipients.info.escrow_fingerprint != recipients.info.fingerprint
        finally:
            recipients.close()

    def test_a_key_that_does_not_answer_to_the_key_name_is_a_key_mismatch(
        self, case: EncryptorCase
    ) -> None:
        with pytest.raises(KeyMismatchError) as raised:
            case.encryptor.load(case.public_key, case.other_name)

        assert repr(case.other_name) in str(raised.value)
        assert "\n" not in str(raised.value)

    def test_an_encrypted_stream_decrypts_to_the_same_bytes(self, case: EncryptorCase) -> None:
        recipients = case.encryptor.load(case.public_key, case.key_name)
        plain = [b"PGDMP", os.urandom(70_000), b"", b"end"]
        try:
            stream = recipients.encrypt(iter(plain))
            encrypted = b"".join(stream)
            stream.close()
        finally:
            recipients.close()

        assert b"".join(plain) not in encrypted
        assert case.decrypt(encrypted) == b"".join(plain)

    def test_the_plain_streams_own_error_is_raised_as_it_is(self, case: EncryptorCase) -> None:
        failure = DumpError("pg_dump exited with 1: connection reset")

        def dump() -> Iterator[bytes]:
            yield b"PGDMP partial"
            raise failure

        recipients = case.encryptor.load(case.public_key, case.key_name)
        try:
            with pytest.raises(DumpError) as raised:
                for _ in recipients.encrypt(dump()):
                    pass
        finally:
            recipients.close()

        assert raised.value is failure

    def test_closing_the_encrypted_stream_early_closes_the_plain_stream(
        self, case: EncryptorCase
    ) -> None:
        closed = threading.Event()

        def endless() -> Iterator[bytes]:
            try:
                while True:
                    yield b"x" * 65536
            finally:
                closed.set()

        recipients = case.encryptor.load(case.public_key, case.key_name)
        # Held here, as a caller may hold it: closing must not rely on garbage collection.
        plain = endless()
        try:
            stream = recipients.encrypt(plain)
            next(iter(stream))
            stream.close()
            stream.close()
        finally:
            recipients.close()

        assert closed.is_set()

    def test_several_streams_encrypt_at_once_from_several_threads(
        self, case: EncryptorCase
    ) -> None:
        recipients = case.encryptor.load(case.public_key, case.key_name)
        results: dict[int, bytes] = {}

        def encrypt(index: int) -> None:
            results[index] = b"".join(recipients.encrypt([f"stream {index}".encode()] * 1000))

        try:
            threads = [threading.Thread(target=encrypt, args=(index,)) for index in range(3)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
        finally:
            recipients.close()

        assert sorted(results) == [0, 1, 2]
        for index, encrypted in results.items():
            assert case.decrypt(encrypted) == f"stream {index}".encode() * 1000

    def test_closed_recipients_encrypt_nothing_and_close_again_quietly(
        self, case: EncryptorCase
    ) -> None:
        recipients = case.encryptor.load(case.public_key, case.key_name)
        recipients.close()
        recipients.close()

        with pytest.raises(EncryptionError):
            list(recipients.encrypt([b"data"]))

    def test_close_all_closes_every_recipients_still_open(self, case: EncryptorCase) -> None:
        first = case.encryptor.load(case.public_key, case.key_name)
        second = case.encryptor.load(case.public_key, case.key_name)
        first.close()

        case.encryptor.close_all()

        with pytest.raises(EncryptionError):
            list(second.encrypt([b"data"]))
