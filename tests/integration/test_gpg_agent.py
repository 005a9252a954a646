"""No key outlives its operation (SPEC 15): the agent caches no passphrase, is stopped with its
keyring, and a keyring a killed job left is disposed of with its agent (real gpg)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from pydantic import SecretStr

from adapters.gpg.decryptor import GpgDecryptor
from adapters.gpg.keyring import dispose_keyring_home
from adapters.process.leftovers import Leftovers
from domain.models.redaction import Redactor
from tests.contract.test_decryptor import gpg_encrypt
from tests.support.gpg import KeyPair, generate_key_pair

pytestmark = pytest.mark.integration

PASSPHRASE = "agent-test-passphrase-42"
PLAIN = b"the payroll of 2026\n" * 1000


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return generate_key_pair(tmp_path_factory.mktemp("keys"), "acme", "acme@x.test", PASSPHRASE)


def agents_of(homedir: Path) -> list[int]:
    """Return the pids of gpg-agents bound to `homedir` (by their command line)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"gpg-agent") and str(homedir).encode() in argv:
            found.append(int(proc.name))
    return found


def decrypt_without_passphrase(homedir: Path, message: bytes) -> subprocess.CompletedProcess[bytes]:
    """Decrypt as an attacker with the keyring would: no passphrase, no pinentry."""
    argv = ["gpg", "--homedir", str(homedir), "--batch", "--pinentry-mode", "error", "--decrypt"]
    env = {"PATH": os.defpath, "HOME": str(homedir), "GNUPGHOME": str(homedir)}
    return subprocess.run(argv, input=message, capture_output=True, env=env, check=False)


def test_an_unlocked_key_decrypts_but_its_agent_holds_no_passphrase(pair, tmp_path):
    keys = GpgDecryptor(tmp_path / "w", Redactor()).load(pair.secret_armored, SecretStr(PASSPHRASE))
    try:
        message = gpg_encrypt(pair, PLAIN)
        assert b"".join(keys.decrypt([message])) == PLAIN
        assert agents_of(keys.homedir), "the keyring's agent runs while the key is loaded"
        stolen = decrypt_without_passphrase(keys.homedir, message)
        assert stolen.returncode != 0
        assert stolen.stdout == b""
        assert b"No pinentry" in stolen.stderr
        # And the key still decrypts a second stream: the passphrase goes with each one.
        assert b"".join(keys.decrypt([message])) == PLAIN
    finally:
        homedir = keys.homedir
        keys.close()
    assert not homedir.exists()
    assert agents_of(homedir) == []


def test_a_keyring_is_claimed_while_it_lives_and_released_with_it(pair, tmp_path):
    work = tmp_path / "w"
    keys = GpgDecryptor(work, Redactor(), leftovers=Leftovers(work)).load(
        pair.secret_armored, SecretStr(PASSPHRASE)
    )
    [claim] = work.glob("claim-*.json")
    assert str(keys.homedir) in claim.read_text()
    keys.close()
    assert list(work.iterdir()) == []


def test_disposing_of_a_killed_jobs_keyring_stops_its_agent(pair, tmp_path):
    keys = GpgDecryptor(tmp_path / "w", Redactor()).load(pair.secret_armored, SecretStr(PASSPHRASE))
    homedir = keys.homedir
    [agent] = agents_of(homedir)
    # As a killed job leaves it: nobody closes the keys.
    dispose_keyring_home(homedir)
    assert not homedir.exists()
    for _ in range(100):
        if not agents_of(homedir):
            break
        subprocess.run(["sleep", "0.05"], check=True)
    assert agents_of(homedir) == [], f"gpg-agent {agent} still runs"
    keys.close()
