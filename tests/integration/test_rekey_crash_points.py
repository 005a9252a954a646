"""A rekey stopped before every change it makes to a real share, checked with plain gpg only.

A signed run is made by the backup machine with the real gpg on a local directory share (the
dumps come from the in-memory dumper: the files are real OpenPGP messages, the dumps small). The
re-encryption to a new key is then stopped before its 1st, 2nd, ... change of the share, as a
kill would stop it. After each stop, plain gpg (never this project's code) must find the run
complete in one form: its manifest's files present with their recorded sha256, each decrypting
with the private key the manifest names (and no other) to the original plaintext, and its
manifest signed. A second rekey then finishes the run on the new key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr

from adapters.files.local_share import LocalDirFileShare
from adapters.gpg.decryptor import GpgDecryptor
from adapters.gpg.encryptor import GpgEncryptor
from adapters.gpg.signing import GpgSigner
from adapters.gpg.verifying import GpgSignatureChecker
from adapters.memory.task_runner import SerialTaskRunner
from domain.machines.rekey_run import RekeyKeys, RekeyRunMachine
from domain.models.redaction import Redactor
from domain.models.restore_config import KeyPassphrases
from domain.rules.rekeying import NewKeys, pending_signature
from domain.services.catalog import RunCatalog
from tests.support.crashing import Crash, CrashAfter
from tests.support.gpg import KeyPair, generate_key_pair
from tests.support.memory_world import World, client_values

pytestmark = [pytest.mark.integration, pytest.mark.slow]


class CrashingShare(CrashAfter, LocalDirFileShare):
    """A local share that dies before its (budget + 1)th change."""


class PlainGpg:
    """One keyring per private key, plain gpg commands only."""

    def __init__(self, root: Path, pairs: dict[str, KeyPair], signing: KeyPair) -> None:
        self.homes: dict[str, Path] = {}
        for fingerprint, pair in pairs.items():
            home = root / f"plain-{fingerprint[:8]}"
            home.mkdir(mode=0o700)
            self._gpg(home, "--import", stdin=pair.secret_armored)
            self._gpg(home, "--import", stdin=signing.public_armored)
            self.homes[fingerprint] = home

    @staticmethod
    def _gpg(home: Path, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
        env = {"PATH": os.defpath, "HOME": str(home), "GNUPGHOME": str(home)}
        return subprocess.run(
            ["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "", *args],
            input=stdin,
            env=env,
            capture_output=True,
            check=False,
        )

    def decrypts(self, fingerprint: str, path: Path) -> bytes | None:
        result = self._gpg(self.homes[fingerprint], "--decrypt", str(path))
        return result.stdout if result.returncode == 0 else None

    def verifies(self, signature: Path, data: Path) -> bool:
        home = next(iter(self.homes.values()))
        return self._gpg(home, "--verify", str(signature), str(data)).returncode == 0

    def close(self) -> None:
        for home in self.homes.values():
            env = {"PATH": os.defpath, "HOME": str(home), "GNUPGHOME": str(home)}
            subprocess.run(["gpgconf", "--kill", "all"], env=env, capture_output=True, check=False)


@dataclass
class Keys:
    old: KeyPair
    new: KeyPair
    signing: KeyPair


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    directory = tmp_path_factory.mktemp("keys")
    return Keys(
        generate_key_pair(directory, "acme", "acme-old@x.example", None),
        generate_key_pair(directory, "acme", "acme-new@x.example", None),
        generate_key_pair(directory, "lts signing", "signing@x.example", None),
    )


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory, keys: Keys) -> tuple[Path, dict[str, str]]:
    """Make one signed run on a local share with the real gpg; return it and its plaintexts."""
    root = tmp_path_factory.mktemp("pristine")
    share = LocalDirFileShare(root / "share")
    (root / "share").mkdir()
    key_file = root / "signing.asc"
    key_file.write_bytes(keys.signing.secret_armored)
    key_file.chmod(0o600)
    values = client_values(**{"public-key": base64.b64encode(keys.old.public_armored).decode()})
    world = World(
        values=values,
        share=share,  # type: ignore[arg-type]
        encryptor=GpgEncryptor(root / "work", Redactor()),  # type: ignore[arg-type]
        signer=GpgSigner(key_file, root / "work", Redactor()),  # type: ignore[arg-type]
    )
    world.run_end_point()
    assert world.exit.code == 0, world.console.lines
    [run] = RunCatalog(share).all_runs()
    directory = root / "share" / run.path
    manifest = json.loads((directory / "manifest.json").read_text())
    plaintexts = {}
    plain = PlainGpg(root, {keys.old.fingerprint: keys.old}, keys.signing)
    try:
        for record in [manifest["globals"], *manifest["databases"]]:
            data = plain.decrypts(keys.old.fingerprint, directory / record["file"])
            assert data
            plaintexts[record["name"]] = hashlib.sha256(data).hexdigest()
    finally:
        plain.close()
    return root / "share", plaintexts


@pytest.fixture(scope="module")
def rekey_keys(keys: Keys, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RekeyKeys]:
    root = tmp_path_factory.mktemp("rekey-keys")
    redactor = Redactor()
    key_file = root / "signing.asc"
    key_file.write_bytes(keys.signing.secret_armored)
    key_file.chmod(0o600)
    public = root / "signing.pub.asc"
    public.write_bytes(keys.signing.public_armored)
    loaded = GpgDecryptor(root / "work", redactor).load_keys(
        keys.old.secret_armored + keys.new.secret_armored, KeyPassphrases(SecretStr(""))
    )
    recipients = GpgEncryptor(root / "work", redactor).load(keys.new.public_armored, "acme")
    signing = GpgSigner(key_file, root / "work", redactor).load()
    trusted = GpgSignatureChecker([public], root / "work", redactor).load()
    yield RekeyKeys(
        keys=loaded,
        recipients=recipients,
        new=NewKeys("acme", keys.new.fingerprint),
        signing=signing,
        trusted=trusted,
    )
    for handle in (loaded, recipients, signing, trusted):
        handle.close()


def rekey_run(share: LocalDirFileShare, keys: RekeyKeys) -> list[object]:
    [run] = RunCatalog(share).all_runs()
    machine = RekeyRunMachine(
        client="acme",
        run=run,
        share=share,
        keys=keys,
        runner=SerialTaskRunner(),
        clock=World().clock,
    )
    return list(machine.execute())


def assert_complete(root: Path, plain: PlainGpg, plaintexts: dict[str, str]) -> str:
    """Check the run with plain gpg; return the fingerprint of the key it is encrypted to."""
    [run] = [p for p in root.glob("end-*/*/*") if p.is_dir()]
    manifest_path = run / "manifest.json"
    if not manifest_path.exists():
        manifest_path = run / "manifest.json.next"
    data = manifest_path.read_bytes()
    manifest = json.loads(data)
    fingerprint = manifest["key_fingerprint"]
    other = next(f for f in plain.homes if f != fingerprint)
    for record in [manifest["globals"], *manifest["databases"]]:
        path = run / record["file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == record["sha256"]
        decrypted = plain.decrypts(fingerprint, path)
        assert decrypted is not None, f"{path.name} does not open with {fingerprint}"
        assert hashlib.sha256(decrypted).hexdigest() == plaintexts[record["name"]]
        assert plain.decrypts(other, path) is None
    copy = run.parent / "checked-manifest.json"
    copy.write_bytes(data)
    signatures = [run / "manifest.json.asc", run / pending_signature(data)]
    assert any(s.exists() and plain.verifies(s, copy) for s in signatures), "no good signature"
    copy.unlink()
    return str(fingerprint)


def test_a_rekey_stopped_before_any_change_leaves_the_run_complete_in_plain_gpgs_eyes(
    tmp_path: Path, keys: Keys, pristine, rekey_keys: RekeyKeys
) -> None:
    source, plaintexts = pristine
    pairs = {keys.old.fingerprint: keys.old, keys.new.fingerprint: keys.new}
    plain = PlainGpg(tmp_path, pairs, keys.signing)
    try:
        whole = CrashingShare(tmp_path / "whole")
        shutil.copytree(source, whole.root)
        assert all(r.ok for r in rekey_run(whole, rekey_keys))  # type: ignore[attr-defined]
        changes = CrashingShare.budget - whole.budget
        assert changes >= 15, changes
        forms = set()
        for budget in range(changes):
            share = CrashingShare(tmp_path / f"stopped-{budget}")
            shutil.copytree(source, share.root)
            share.budget = budget
            with pytest.raises(Crash):
                rekey_run(share, rekey_keys)
            forms.add(assert_complete(share.root, plain, plaintexts))
            share.budget = 10_000
            results = rekey_run(share, rekey_keys)
            assert [r for r in results if not r.ok] == []  # type: ignore[attr-defined]
            assert assert_complete(share.root, plain, plaintexts) == keys.new.fingerprint
            [run] = [p for p in share.root.glob("end-*/*/*") if p.is_dir()]
            manifest = json.loads((run / "manifest.json").read_text())
            files = {r["file"] for r in [manifest["globals"], *manifest["databases"]]}
            expected = {"manifest.json", "manifest.json.asc", "SHA256SUMS", "RESTORE.txt"}
            assert {p.name for p in run.iterdir()} == files | expected, budget
            shutil.rmtree(share.root)
        assert forms == {keys.old.fingerprint, keys.new.fingerprint}
    finally:
        plain.close()
