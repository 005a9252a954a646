"""The Decryptor contract, run against InMemoryDecryptor and GpgDecryptor (the real gpg).

Each adapter comes as a `DecryptorCase`: the decryptor, a private key with its passphrase, and how
to encrypt a message to that key (InMemoryEncryptor, or plain gpg for the real one).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr

from adapters.gpg.decryptor import GpgDecryptor
from adapters.memory.decryptor import InMemoryDecryptor
from adapters.memory.encryptor import InMemoryEncryptor
from domain.models.redaction import Redactor
from domain.models.restore_config import KeyPassphrases
from ports.decryptor import Decryptor
from ports.errors import DecryptionError
from tests.support.gpg import KeyPair, generate_key_pair

PASSPHRASE = "correct horse battery staple"


@dataclass
class DecryptorCase:
    decryptor: Decryptor
    private_key: bytes
    passphrase: SecretStr
    encrypt: Callable[[bytes], bytes]


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return generate_key_pair(tmp_path_factory.mktemp("keys"), "Acme", "acme@x.example", PASSPHRASE)


def gpg_encrypt(pair: KeyPair, data: bytes) -> bytes:
    """Encrypt to `pair` with plain gpg (its public key alone; no agent is needed)."""
    argv = ["gpg", "--homedir", str(pair.homedir), "--batch", "--no-autostart"]
    argv += ["--trust-model", "always", "--encrypt", "--recipient", pair.fingerprint]
    env = {"PATH": os.defpath, "HOME": str(pair.homedir)}
    return subprocess.run(argv, input=data, capture_output=True, env=env, check=True).stdout


def memory_encrypt(data: bytes) -> bytes:
    recipients = InMemoryEncryptor().load(b"public key", "acme")
    try:
        return b"".join(recipients.encrypt([data]))
    finally:
        recipients.close()


@pytest.fixture(
    params=[
        pytest.param("memory", id="memory"),
        pytest.param("gpg", id="gpg", marks=pytest.mark.integration),
    ]
)
def case(request: pytest.FixtureRequest, tmp_path: Path) -> DecryptorCase:
    if request.param == "memory":
        return DecryptorCase(
            decryptor=InMemoryDecryptor(passphrase=PASSPHRASE),
            private_key=b"private key",
            passphrase=SecretStr(PASSPHRASE),
            encrypt=memory_encrypt,
        )
    pair: KeyPair = request.getfixturevalue("key_pair")
    return DecryptorCase(
        decryptor=GpgDecryptor(tmp_path / "work", Redactor()),
        private_key=pair.secret_armored,
        passphrase=SecretStr(PASSPHRASE),
        encrypt=lambda data: gpg_encrypt(pair, data),
    )


class TestDecryptorContract:
    def test_a_loaded_key_names_its_fingerprint(self, case: DecryptorCase) -> None:
        keys = case.decryptor.load(case.private_key, case.passphrase)
        try:
            assert keys.info.fingerprint
        finally:
            keys.close()

    def test_a_stream_decrypts_to_what_was_encrypted(self, case: DecryptorCase) -> None:
        plain = b"PGDMP" + os.urandom(200_000)
        cipher = case.encrypt(plain)
        keys = case.decryptor.load(case.private_key, case.passphrase)
        try:
            stream = keys.decrypt(iter([cipher[:1000], cipher[1000:5000], cipher[5000:]]))
            decrypted = b"".join(stream)
            stream.close()
        finally:
            keys.close()

        assert decrypted == plain

    def test_a_wrong_passphrase_is_one_secret_free_line(self, case: DecryptorCase) -> None:
        wrong = "not the passphrase at all"

        with pytest.raises(DecryptionError) as raised:
            case.decryptor.load(case.private_key, SecretStr(wrong))

        assert "passphrase" in str(raised.value)
        assert wrong not in str(raised.value)
        assert "\n" not in str(raised.value)

    def test_data_that_is_no_encrypted_message_is_a_decryption_error(
        self, case: DecryptorCase
    ) -> None:
        keys = case.decryptor.load(case.private_key, case.passphrase)
        try:
            with pytest.raises(DecryptionError) as raised:
                list(keys.decrypt([b"this was never encrypted\n"]))
        finally:
            keys.close()

        assert "\n" not in str(raised.value)

    def test_closing_a_decryption_early_is_safe_and_may_be_repeated(
        self, case: DecryptorCase
    ) -> None:
        cipher = case.encrypt(os.urandom(300_000))
        keys = case.decryptor.load(case.private_key, case.passphrase)
        try:
            stream = keys.decrypt([cipher])
            next(iter(stream))
            stream.close()
            stream.close()
        finally:
            keys.close()

    def test_closed_keys_decrypt_nothing_and_close_again_quietly(self, case: DecryptorCase) -> None:
        cipher = case.encrypt(b"secret")
        keys = case.decryptor.load(case.private_key, case.passphrase)
        keys.close()
        keys.close()

        with pytest.raises(DecryptionError):
            list(keys.decrypt([cipher]))

    def test_close_all_closes_every_key_still_open(self, case: DecryptorCase) -> None:
        cipher = case.encrypt(b"secret")
        keys = case.decryptor.load(case.private_key, case.passphrase)

        case.decryptor.close_all()
        case.decryptor.close_all()

        with pytest.raises(DecryptionError):
            list(keys.decrypt([cipher]))

    def test_load_keys_with_one_key_decrypts_as_load_does(self, case: DecryptorCase) -> None:
        cipher = case.encrypt(b"PGDMP one key")
        keys = case.decryptor.load_keys(case.private_key, KeyPassphrases(case.passphrase))
        try:
            assert keys.info.fingerprint
            assert b"".join(keys.decrypt([cipher])) == b"PGDMP one key"
        finally:
            keys.close()

    def test_a_passphrase_list_that_does_not_fit_the_keys_is_one_secret_free_line(
        self, case: DecryptorCase
    ) -> None:
        listed = KeyPassphrases(SecretStr(""), (case.passphrase, SecretStr("second-secret")))

        with pytest.raises(DecryptionError) as raised:
            case.decryptor.load_keys(case.private_key, listed)

        assert str(raised.value) == (
            "private-key holds 1 secret key but private-key-passphrases lists 2; "
            "give one passphrase per key, in order"
        )
