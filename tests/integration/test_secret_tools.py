"""generate_key and encrypt_secret as an operator runs them; the token decrypts in the adapter."""

import stat
import subprocess
import sys

import pytest

from adapters.fernet.cipher import FernetSecretCipher
from tests.support.jobs import REPO

pytestmark = pytest.mark.integration

SECRET = "sp-secret-Zq8#value"


def job(*argv, stdin="", env=None):
    return subprocess.run(
        [sys.executable, "-m", *argv],
        cwd=REPO,
        input=stdin,
        text=True,
        capture_output=True,
        check=False,
        env=env,
    )


def test_generate_key_then_encrypt_secret_round_trips_through_the_fernet_adapter(tmp_path):
    key_file = tmp_path / "keys" / "fernet.key"
    made = job("entrypoints.generate_key", str(key_file))
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    token = job("entrypoints.encrypt_secret", "--key-file", str(key_file), stdin=SECRET + "\n")
    assert token.returncode == 0, token.stderr
    assert SECRET not in token.stdout + token.stderr
    text = token.stdout.strip()
    assert FernetSecretCipher(key_file).decrypt(text).get_secret_value() == SECRET


def test_generate_key_refuses_to_overwrite_and_keeps_the_old_key(tmp_path):
    key_file = tmp_path / "fernet.key"
    assert job("entrypoints.generate_key", str(key_file)).returncode == 0
    before = key_file.read_bytes()
    again = job("entrypoints.generate_key", str(key_file))
    assert again.returncode == 1
    assert again.stdout.startswith("Critical failure: ")
    assert "refusing to overwrite" in again.stdout
    assert len(again.stdout.splitlines()) == 1
    assert key_file.read_bytes() == before


def test_generate_key_writes_the_master_configs_key_file_by_default(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'[secrets]\nkey_file = "{tmp_path / "default.key"}"\n')
    made = job("entrypoints.generate_key", env={"LTS_CONFIG": str(config), "PATH": "/usr/bin"})
    assert made.returncode == 0, made.stdout + made.stderr
    assert (tmp_path / "default.key").exists()


def test_encrypt_secret_with_a_missing_key_file_is_one_line(tmp_path):
    result = job("entrypoints.encrypt_secret", "--key-file", str(tmp_path / "none"), stdin=SECRET)
    assert result.returncode == 1
    assert len(result.stdout.splitlines()) == 1
    assert result.stdout.startswith("Critical failure: ")
    assert SECRET not in result.stdout + result.stderr


def test_encrypt_secret_refuses_empty_input(tmp_path):
    key_file = tmp_path / "fernet.key"
    job("entrypoints.generate_key", str(key_file))
    result = job("entrypoints.encrypt_secret", "--key-file", str(key_file), stdin="")
    assert result.returncode == 1
    assert "no secret given" in result.stdout
