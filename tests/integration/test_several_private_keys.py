"""GpgDecryptor.load_keys with the real gpg: several secret keys, each file opened by its own."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from pydantic import SecretStr

from adapters.gpg.decryptor import GpgDecryptor
from adapters.gpg.encryptor import GpgEncryptor
from adapters.gpg.keyset import GpgKeySet, recipient_key_ids, split_keys
from domain.models.redaction import Redactor
from domain.models.restore_config import KeyPassphrases
from ports.errors import DecryptionError
from tests.support.gpg import KeyPair, dearmor, generate_key_pair

pytestmark = pytest.mark.integration

OLD_PASSPHRASE = "old-key-passphrase-1"
NEW_PASSPHRASE = "new-key-passphrase-2"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[KeyPair, KeyPair, KeyPair]:
    directory = tmp_path_factory.mktemp("keys")
    old = generate_key_pair(directory, "acme 2020", "acme@x.example", OLD_PASSPHRASE)
    new = generate_key_pair(directory, "acme 2030", "acme@x.example", NEW_PASSPHRASE)
    other = generate_key_pair(directory, "globex", "globex@x.example", "globex-passphrase")
    return old, new, other


def encrypt(pair: KeyPair, data: bytes) -> bytes:
    argv = ["gpg", "--homedir", str(pair.homedir), "--batch", "--no-autostart"]
    argv += ["--trust-model", "always", "--encrypt", "--recipient", pair.fingerprint]
    env = {"PATH": os.defpath, "HOME": str(pair.homedir)}
    return subprocess.run(argv, input=data, capture_output=True, env=env, check=True).stdout


def both(pairs: tuple[KeyPair, ...]) -> bytes:
    return b"".join(pair.secret_armored for pair in pairs)


def each(*passphrases: str) -> KeyPassphrases:
    return KeyPassphrases(SecretStr(""), tuple(SecretStr(p) for p in passphrases))


def test_runs_from_before_and_after_a_key_change_both_open(keys, tmp_path: Path) -> None:
    old, new, _ = keys
    decryptor = GpgDecryptor(tmp_path / "work", Redactor())
    loaded = decryptor.load_keys(both((old, new)), each(OLD_PASSPHRASE, NEW_PASSPHRASE))
    try:
        assert isinstance(loaded, GpgKeySet)
        assert [info.fingerprint for info in loaded.infos] == [old.fingerprint, new.fingerprint]
        before = encrypt(old, b"PGDMP dumped in 2020")
        after = encrypt(new, b"PGDMP dumped in 2030")
        assert b"".join(loaded.decrypt([before[:7], before[7:]])) == b"PGDMP dumped in 2020"
        assert b"".join(loaded.decrypt(iter([after]))) == b"PGDMP dumped in 2030"
        big = os.urandom(3 * 1024 * 1024)
        assert b"".join(loaded.decrypt([encrypt(new, big)])) == big
    finally:
        loaded.close()
    assert list((tmp_path / "work").iterdir()) == []


def test_one_armoured_export_of_two_keys_is_split_and_shares_one_passphrase(
    keys, tmp_path: Path
) -> None:
    old, _, _ = keys
    directory = tmp_path / "keys"
    first = generate_key_pair(directory, "one", "one@x.example", "shared-passphrase")
    second = generate_key_pair(directory, "two", "two@x.example", "shared-passphrase")
    binary = dearmor(first.secret_armored, tmp_path) + dearmor(second.secret_armored, tmp_path)
    assert len(split_keys(binary)) == 2
    assert len(split_keys(first.secret_armored + second.secret_armored)) == 2
    decryptor = GpgDecryptor(tmp_path / "work", Redactor())
    loaded = decryptor.load_keys(binary, KeyPassphrases(SecretStr("shared-passphrase")))
    try:
        assert b"".join(loaded.decrypt([encrypt(second, b"two")])) == b"two"
        assert b"".join(loaded.decrypt([encrypt(first, b"one")])) == b"one"
    finally:
        loaded.close()
    assert len(split_keys(old.secret_armored)) == 1


def test_a_file_encrypted_to_the_key_and_an_escrow_opens_with_the_key(keys, tmp_path) -> None:
    old, new, other = keys
    recipients = GpgEncryptor(tmp_path / "work", Redactor()).load(
        other.public_armored, "globex", new.public_armored
    )
    try:
        message = b"".join(recipients.encrypt([b"escrowed"]))
    finally:
        recipients.close()
    assert len(recipient_key_ids(message) or []) == 2
    loaded = GpgDecryptor(tmp_path / "work", Redactor()).load_keys(
        both((old, new)), each(OLD_PASSPHRASE, NEW_PASSPHRASE)
    )
    try:
        assert b"".join(loaded.decrypt([message])) == b"escrowed"
    finally:
        loaded.close()


def test_a_file_encrypted_to_none_of_the_keys_names_both_sides(keys, tmp_path: Path) -> None:
    old, new, other = keys
    loaded = GpgDecryptor(tmp_path / "work", Redactor()).load_keys(
        both((old, new)), each(OLD_PASSPHRASE, NEW_PASSPHRASE)
    )
    try:
        with pytest.raises(DecryptionError) as raised:
            b"".join(loaded.decrypt([encrypt(other, b"not ours")]))
    finally:
        loaded.close()
    message = str(raised.value)
    assert message.startswith("the file is encrypted to ")
    assert f"(it holds {old.fingerprint}, {new.fingerprint})" in message


def test_a_wrong_passphrase_names_the_key_and_leaves_nothing_behind(keys, tmp_path) -> None:
    old, new, _ = keys
    decryptor = GpgDecryptor(tmp_path / "work", Redactor())
    with pytest.raises(DecryptionError) as raised:
        decryptor.load_keys(both((old, new)), each(OLD_PASSPHRASE, "not-the-new-one"))
    message = str(raised.value)
    assert message.startswith("the 2nd key in private-key: ")
    assert new.fingerprint in message
    assert "not-the-new-one" not in message
    assert OLD_PASSPHRASE not in message
    assert list((tmp_path / "work").iterdir()) == []


def test_one_passphrase_for_keys_protected_by_different_ones_fails_on_the_second(
    keys, tmp_path
) -> None:
    old, new, _ = keys
    decryptor = GpgDecryptor(tmp_path / "work", Redactor())
    with pytest.raises(DecryptionError, match=r"^the 2nd key in private-key: "):
        decryptor.load_keys(both((old, new)), KeyPassphrases(SecretStr(OLD_PASSPHRASE)))


def test_a_passphrase_list_of_the_wrong_length_is_refused_before_any_key_is_loaded(
    keys, tmp_path
) -> None:
    old, new, _ = keys
    decryptor = GpgDecryptor(tmp_path / "work", Redactor())
    with pytest.raises(DecryptionError) as raised:
        decryptor.load_keys(both((old, new)), each(OLD_PASSPHRASE))
    assert str(raised.value) == (
        "private-key holds 2 secret keys but private-key-passphrases lists 1; "
        "give one passphrase per key, in order"
    )
    assert not (tmp_path / "work").exists() or list((tmp_path / "work").iterdir()) == []
