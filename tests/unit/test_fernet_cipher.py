"""Tests of FernetSecretCipher and generate_key_file, on real key files in a temporary dir."""

from __future__ import annotations

import base64
import stat
import threading
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from adapters.fernet.cipher import FernetSecretCipher, FernetTokenSecret, generate_key_file
from adapters.os.paths import make_private_dirs
from ports.errors import SecretError

SECRET = "s3cr3t-Client-Secret~value"


def write_keys(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


@pytest.fixture
def key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def key_file(tmp_path, key) -> Path:
    return write_keys(tmp_path / "fernet.key", key)


def test_a_token_decrypts_to_the_secret_it_was_made_from(key_file):
    cipher = FernetSecretCipher(key_file)
    token = cipher.encrypt(SecretStr(SECRET))
    assert SECRET not in token
    assert cipher.decrypt(token).get_secret_value() == SECRET


def test_a_token_from_another_cipher_with_the_same_key_file_decrypts(key_file):
    token = FernetSecretCipher(key_file).encrypt(SecretStr(SECRET))
    assert FernetSecretCipher(key_file).decrypt(f"  {token}\n").get_secret_value() == SECRET


def test_a_token_made_with_another_key_gives_a_clear_one_line_error(tmp_path, key_file):
    other = write_keys(tmp_path / "other.key", Fernet.generate_key().decode())
    token = FernetSecretCipher(other).encrypt(SecretStr(SECRET))
    with pytest.raises(SecretError) as refused:
        FernetSecretCipher(key_file).decrypt(token)
    assert str(refused.value) == (
        f"the secret token cannot be decrypted with the keys in {key_file} "
        "(wrong key file or damaged token)"
    )
    assert refused.value.__cause__ is None


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(
            lambda token: token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:],
            id="flipped-character",
        ),
        pytest.param(lambda token: token[: len(token) // 2], id="truncated"),
        pytest.param(lambda token: "not a token at all", id="garbage"),
        pytest.param(lambda token: "", id="empty"),
        pytest.param(lambda token: "é" + token, id="non-ascii"),
    ],
)
def test_a_damaged_token_gives_a_clear_error(key_file, damage):
    cipher = FernetSecretCipher(key_file)
    token = cipher.encrypt(SecretStr(SECRET))
    with pytest.raises(SecretError, match="cannot be decrypted"):
        cipher.decrypt(damage(token))


def test_a_rotated_key_file_encrypts_with_its_first_key_and_still_decrypts_old_tokens(tmp_path):
    old_key = Fernet.generate_key().decode()
    new_key = Fernet.generate_key().decode()
    old_file = write_keys(tmp_path / "old.key", old_key)
    old_token = FernetSecretCipher(old_file).encrypt(SecretStr(SECRET))

    rotated = write_keys(tmp_path / "rotated.key", "# rotated in June", new_key, "", old_key)
    cipher = FernetSecretCipher(rotated)
    assert cipher.decrypt(old_token).get_secret_value() == SECRET

    new_token = cipher.encrypt(SecretStr(SECRET))
    assert Fernet(new_key.encode()).decrypt(new_token.encode()).decode() == SECRET
    new_only = write_keys(tmp_path / "new.key", new_key)
    assert FernetSecretCipher(new_only).decrypt(new_token).get_secret_value() == SECRET
    with pytest.raises(SecretError):
        FernetSecretCipher(old_file).decrypt(new_token)


def test_a_malformed_key_line_is_named_by_its_number_without_showing_the_key(tmp_path, key):
    bad_key = base64.urlsafe_b64encode(b"sixteen-bytes-ok").decode()  # valid base64, wrong length
    path = write_keys(tmp_path / "fernet.key", "# keys", key, "", bad_key)
    with pytest.raises(SecretError) as refused:
        FernetSecretCipher(path).decrypt("whatever")
    message = str(refused.value)
    assert message == (
        f"line 4 of the Fernet key file {path} is not a Fernet key "
        "(32 url-safe base64-encoded bytes)"
    )
    assert bad_key not in message
    assert key not in message


def test_a_missing_key_file_gives_a_clear_error(tmp_path):
    path = tmp_path / "absent.key"
    with pytest.raises(SecretError) as refused:
        FernetSecretCipher(path).encrypt(SecretStr(SECRET))
    assert str(refused.value) == f"the Fernet key file {path} does not exist"


def test_a_key_file_without_keys_gives_a_clear_error(tmp_path):
    path = write_keys(tmp_path / "empty.key", "# nothing here", "")
    with pytest.raises(SecretError, match="holds no key"):
        FernetSecretCipher(path).encrypt(SecretStr(SECRET))


def test_a_key_file_that_is_a_directory_gives_a_clear_error(tmp_path):
    with pytest.raises(SecretError, match="cannot be read"):
        FernetSecretCipher(tmp_path).encrypt(SecretStr(SECRET))


def test_the_key_file_is_read_at_first_use_not_at_construction(tmp_path, key):
    path = tmp_path / "later.key"
    cipher = FernetSecretCipher(path)
    write_keys(path, key)
    assert cipher.decrypt(cipher.encrypt(SecretStr(SECRET))).get_secret_value() == SECRET


def test_the_key_file_is_read_once_even_by_concurrent_first_uses(key_file):
    cipher = FernetSecretCipher(key_file)
    tokens: list[str] = []
    threads = [
        threading.Thread(target=lambda: tokens.append(cipher.encrypt(SecretStr(SECRET))))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    key_file.unlink()  # a second read would now fail
    assert all(cipher.decrypt(token).get_secret_value() == SECRET for token in tokens)


def test_no_error_text_holds_the_secret_or_a_key(tmp_path, key_file, key):
    cipher = FernetSecretCipher(key_file)
    token = cipher.encrypt(SecretStr(SECRET))
    other = write_keys(tmp_path / "other.key", Fernet.generate_key().decode())
    texts = []
    for attempt in (
        lambda: FernetSecretCipher(other).decrypt(token),
        lambda: cipher.decrypt(token[:-3]),
        lambda: FernetSecretCipher(write_keys(tmp_path / "bad.key", key[:-4])).decrypt(token),
    ):
        with pytest.raises(SecretError) as raised:
            attempt()
        texts.append(f"{raised.value!s} {raised.value!r} {raised.value.__cause__!r}")
    for text in texts:
        assert SECRET not in text
        assert key not in text
        assert key[:-4] not in text


# ---------------------------------------------------------------- FernetTokenSecret


def test_a_token_secret_returns_the_secret_of_its_token(key_file):
    cipher = FernetSecretCipher(key_file)
    secret = FernetTokenSecret(cipher, cipher.encrypt(SecretStr(SECRET)))

    assert secret().get_secret_value() == SECRET


def test_a_token_secret_decrypts_only_when_called(tmp_path):
    missing = tmp_path / "no-such.key"

    secret = FernetTokenSecret(FernetSecretCipher(missing), "token")

    with pytest.raises(SecretError, match="does not exist"):
        secret()


def test_a_token_secret_made_with_another_key_raises_secret_error(tmp_path, key_file):
    other = FernetSecretCipher(write_keys(tmp_path / "other.key", Fernet.generate_key().decode()))
    secret = FernetTokenSecret(FernetSecretCipher(key_file), other.encrypt(SecretStr(SECRET)))

    with pytest.raises(SecretError, match="cannot be decrypted"):
        secret()


def test_a_token_secret_shows_neither_token_nor_secret(key_file):
    cipher = FernetSecretCipher(key_file)
    token = cipher.encrypt(SecretStr(SECRET))

    shown = repr(FernetTokenSecret(cipher, token))

    assert token not in shown
    assert SECRET not in shown


# ---------------------------------------------------------------- generate_key_file


def test_a_generated_key_file_is_private_and_holds_one_working_key(tmp_path):
    path = tmp_path / "etc" / "lts" / "fernet.key"
    generate_key_file(path, make_dirs=make_private_dirs)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    keys = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    assert len(keys) == 1
    Fernet(keys[0].encode())
    cipher = FernetSecretCipher(path)
    assert cipher.decrypt(cipher.encrypt(SecretStr(SECRET))).get_secret_value() == SECRET
    assert sorted(p.name for p in path.parent.iterdir()) == ["fernet.key"]  # no temporary left


def test_without_a_way_to_make_directories_a_missing_parent_is_a_secret_error(tmp_path):
    path = tmp_path / "etc" / "fernet.key"

    with pytest.raises(SecretError, match=r"cannot write the Fernet key file .*fernet\.key \("):
        generate_key_file(path)

    assert not (tmp_path / "etc").exists()


def test_generating_a_key_file_refuses_to_overwrite_an_existing_one(key_file, key):
    with pytest.raises(SecretError, match=r"already exists; refusing to overwrite$"):
        generate_key_file(key_file)
    assert key_file.read_text() == key + "\n"


def test_generating_a_key_file_refuses_to_replace_a_dangling_symlink(tmp_path):
    link = tmp_path / "fernet.key"
    link.symlink_to(tmp_path / "elsewhere.key")
    with pytest.raises(SecretError, match="refusing to overwrite"):
        generate_key_file(link)
    assert not (tmp_path / "elsewhere.key").exists()


def test_two_generated_key_files_hold_different_keys(tmp_path):
    generate_key_file(tmp_path / "a.key")
    generate_key_file(tmp_path / "b.key")
    assert (tmp_path / "a.key").read_text() != (tmp_path / "b.key").read_text()
