"""No key outlives its operation (SPEC 15): the agent caches no passphrase, is stopped with its
keyring, and a keyring a killed job left is disposed of with its agent (real gpg); with several
private keys and with the signing keys of SPEC 14 too."""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import SecretStr

from adapters.gpg.decryptor import GpgDecryptor
from adapters.gpg.keyring import dispose_keyring_home
from adapters.gpg.signing import GpgSigner
from adapters.gpg.verifying import GpgSignatureChecker
from adapters.process.identity import current_identity
from adapters.process.leftovers import KEYRING, Leftovers
from domain.models.redaction import Redactor
from domain.models.restore_config import KeyPassphrases
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


def test_several_keys_each_get_their_own_passphrase_for_every_decryption_and_cache_none(
    pair, tmp_path
):
    """Issue 15's several private keys on issue 12's agents: a passphrase per operation each."""
    other = generate_key_pair(tmp_path / "keys", "acme 2030", "acme@x.test", "another-passphrase")
    work = tmp_path / "w"
    passphrases = KeyPassphrases(
        SecretStr(""), (SecretStr(PASSPHRASE), SecretStr("another-passphrase"))
    )
    keys = GpgDecryptor(work, Redactor()).load_keys(
        pair.secret_armored + other.secret_armored, passphrases
    )
    homes = sorted(work.glob("gnupg-*"))
    try:
        assert len(homes) == 2, "each key in a keyring of its own"
        old, new = gpg_encrypt(pair, PLAIN), gpg_encrypt(other, PLAIN[::-1])
        for _ in range(2):
            # Interleaved: each decryption unlocks its own key, with its own passphrase, again.
            assert b"".join(keys.decrypt([old])) == PLAIN
            assert b"".join(keys.decrypt([new])) == PLAIN[::-1]
        for home in homes:
            assert agents_of(home), "each keyring's agent ran"
            for message in (old, new):
                stolen = decrypt_without_passphrase(home, message)
                assert (stolen.returncode, stolen.stdout) != (0, PLAIN), home
                assert stolen.stdout == b""
    finally:
        keys.close()
    assert list(work.iterdir()) == []
    # `gpgconf --kill` returns before an agent has ended: give them the moment they take.
    for _ in range(100):
        if not any(agents_of(home) for home in homes):
            break
        time.sleep(0.05)
    assert [agents_of(home) for home in homes] == [[], []]


def test_the_signing_and_trusted_keyrings_are_claimed_and_a_killed_jobs_are_swept(tmp_path):
    """Issue 15's signer and checker keyrings outlive no job: claimed, swept with their agent."""
    signing = generate_key_pair(tmp_path / "keys", "lts signing", "s@x.test", None)
    key_file = tmp_path / "signing.asc"
    key_file.write_bytes(signing.secret_armored)
    key_file.chmod(0o600)
    work = tmp_path / "w"
    disposers = {KEYRING: dispose_keyring_home}

    mine = Leftovers(work, disposers)
    key = GpgSigner(key_file, work, Redactor(), leftovers=mine).load()
    trusted = GpgSignatureChecker([], work, Redactor(), signing_key_file=key_file, leftovers=mine)
    keys = trusted.load()
    claimed = {json.loads(path.read_text())["path"] for path in work.glob("claim-*.json")}
    assert claimed == {str(key.homedir), str(keys.homedir)}
    key.close()
    keys.close()
    assert list(work.iterdir()) == []

    # A job killed while it held the signing key: its keyring and agent stay, with no passphrase
    # to stop anyone signing with them, until the next job's sweep.
    dead = Leftovers(work, disposers, identity=lambda: replace(current_identity(), pid=2**22 + 5))
    left = GpgSigner(key_file, work, Redactor(), leftovers=dead).load()
    left.sign([b"manifest"])
    assert agents_of(left.homedir), "the signing key's agent runs"
    swept = Leftovers(work, disposers).sweep()
    assert [(item.kind, item.path) for item in swept] == [(KEYRING, left.homedir)]
    assert not left.homedir.exists()
    for _ in range(100):
        if not agents_of(left.homedir):
            break
        subprocess.run(["sleep", "0.05"], check=True)
    assert agents_of(left.homedir) == []
    assert list(work.iterdir()) == []
