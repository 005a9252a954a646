"""The rekey job killed with SIGKILL at random moments: every run still restores (SPEC 14).

Two signed runs of the reliability cluster (a big database of a few MB and two small ones) are
re-encrypted back and forth between two keys, and each rekey is killed (the job and every child
it started) after a random delay. After every kill, plain gpg alone (never this project's code)
must find each run complete in one form: every file its manifest names present with the recorded
sha256 and decrypting, with the private key the manifest names, to the plaintext it held at the
start; the manifest signed. A last rekey finishes the job: only the new key is needed, verify and
restore are clean, nothing a killed rekey left stays behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.conftest import MakeSite
from tests.reliability.world import Cluster, StartedJob, client_values, published_runs
from tests.support.gpg import GpgHelperError, KeyPair, PlainKeyring, generate_key_pair
from tests.support.jobs import b64

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MOMENTS = ("anytime", "new file", "pending switch", "switched", "anytime")
"""When each kill comes: a random moment, or soon after the share shows that phase."""
NEW_PASSPHRASE = "passphrase-of-the-new-acme-key"


def stored(run: Path) -> tuple[dict[str, Any], bytes]:
    path = run / "manifest.json"
    if not path.exists():
        path = run / "manifest.json.next"
    data = path.read_bytes()
    return json.loads(data), data


def records(manifest: dict[str, Any]) -> list[dict[str, str]]:
    found = [manifest["globals"], *manifest["databases"]]
    return [r for r in found if r and r["status"] == "ok"]


def plaintexts(run: Path, keys: dict[str, PlainKeyring]) -> dict[str, str]:
    """Decrypt every file of `run` with plain gpg and the key its manifest names."""
    manifest, _ = stored(run)
    keyring = keys[str(manifest["key_fingerprint"])]
    found = {}
    for record in records(manifest):
        path = run / record["file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == record["sha256"], path
        found[record["name"]] = hashlib.sha256(keyring.decrypt(path)).hexdigest()
    return found


def signed(run: Path, public: Path, home: Path) -> bool:
    """Tell whether plain gpg finds a good signature of the run's manifest."""
    _, data = stored(run)
    digest = hashlib.sha256(data).hexdigest()[:16]
    copy = home / "manifest.json"
    copy.write_bytes(data)
    env = {"PATH": os.defpath, "HOME": str(home), "GNUPGHOME": str(home)}
    subprocess.run(["gpg", "--batch", "--import", str(public)], env=env, capture_output=True)
    for signature in (run / "manifest.json.asc", run / f"manifest.json.asc.{digest}"):
        if signature.exists():
            checked = subprocess.run(
                ["gpg", "--batch", "--verify", str(signature), str(copy)],
                env=env,
                capture_output=True,
                check=False,
            )
            if checked.returncode == 0:
                return True
    return False


def reached(share: Path, moment: str, fingerprint: str, job: StartedJob, limit: float) -> bool:
    """Wait until the share shows `moment` of a rekey to `fingerprint` (or the job ends)."""
    tag = f".{fingerprint[-16:]}.gpg"

    def seen() -> bool:
        runs = published_runs(share)
        if moment == "new file":
            return any(path.name.endswith(tag) for run in runs for path in run.iterdir())
        if moment == "pending switch":
            return any((run / "manifest.json.next").exists() for run in runs)
        if moment == "switched":
            return any(stored(run)[0]["key_fingerprint"] == fingerprint for run in runs)
        return True

    deadline = time.monotonic() + limit + 30
    while time.monotonic() < deadline and job.process.poll() is None:
        try:
            if seen():
                return True
        except (OSError, ValueError):
            pass  # a file renamed or replaced while it was read
        time.sleep(0.01)
    return False


def stop_agents(work: Path) -> None:
    """Stop the gpg-agents of keyrings that killed jobs left behind, then remove them."""
    for home in work.glob("gnupg-*"):
        env = {"PATH": os.defpath, "HOME": str(home), "GNUPGHOME": str(home)}
        subprocess.run(
            ["gpgconf", "--homedir", str(home), "--kill", "all"],
            env=env,
            capture_output=True,
            check=False,
        )
    shutil.rmtree(work, ignore_errors=True)


def test_a_rekey_killed_at_random_moments_never_leaves_a_run_that_does_not_restore(
    make_site: MakeSite, cluster: Cluster, key_pair: KeyPair, tmp_path: Path, ledger
) -> None:
    site = make_site(cluster.password, NEW_PASSPHRASE)
    new = generate_key_pair(tmp_path / "keys", "acme", "acme-new@backup.test", NEW_PASSPHRASE)
    signing = generate_key_pair(tmp_path / "keys", "lts signing", "s@backup.test", None)
    key_file = site.root / "signing.asc"
    key_file.write_bytes(signing.secret_armored)
    key_file.chmod(0o600)
    public = site.root / "signing.pub.asc"
    public.write_bytes(signing.public_armored)
    # gpg-agent's socket path must stay short: the work root goes to a short directory.
    work = Path(tempfile.mkdtemp(prefix="lts-rekey-", dir="/tmp"))
    site.configure(
        paths={
            "log_root": str(site.root / "logs"),
            "lock_root": str(site.root / "locks"),
            "work_root": str(work),
            "mount_root": str(site.root / "mnt"),
        },
        backup={"pg_bin_dir": str(cluster.server.bin_dir), "share_lock_max_age_hours": 0.0001},
        signing={"key_file": str(key_file), "trusted_keys": [str(public)], "require": True},
    )
    values = client_values(cluster, key_pair, site.share)
    old_url = site.write_client_config("acme", values)
    for _ in range(2):
        backup = site.run("backup", "acme", "6", old_url, "-", "-")
        assert (backup.code, backup.failures) == (0, []), backup.stdout + backup.stderr
        time.sleep(1.1)
    runs = published_runs(site.share)
    old_keyring = PlainKeyring(key_pair, tmp_path)
    new_keyring = PlainKeyring(new, tmp_path)
    keys = {key_pair.fingerprint: old_keyring, new.fingerprint: new_keyring}
    original = {run.name: plaintexts(run, keys) for run in runs}
    new_url = site.write_client_config(
        "acme-new", {**values, "public-key": b64(new.public_armored), "key-name": new.fingerprint}
    )
    restore = site.write_client_config(
        "acme-restore",
        {
            "private-key": b64(key_pair.secret_armored + new.secret_armored),
            "private-key-passphrases": json.dumps([key_pair.passphrase, NEW_PASSPHRASE]),
        },
    )

    def rekey_args(url: str) -> tuple[str, ...]:
        return ("acme", url, "-", "-", "--restore-vault", restore)

    started = time.monotonic()
    timed = site.run("rekey", *rekey_args(new_url))
    duration = time.monotonic() - started
    assert timed.code == 0, timed.stdout + timed.stderr
    chance = random.Random()
    moments: list[str] = []
    try:
        for kill, moment in enumerate(MOMENTS):
            target = key_pair if kill % 2 == 0 else new
            job = site.start("rekey", *rekey_args(old_url if target is key_pair else new_url))
            waited = reached(site.share, moment, target.fingerprint, job, duration)
            time.sleep(chance.uniform(0, 0.25 if moment != "anytime" else duration))
            if job.process.poll() is None:
                job.kill()
            job.finish()
            forms = set()
            for run in runs:
                home = tmp_path / f"check-{kill}-{run.name}"
                home.mkdir(mode=0o700)
                assert plaintexts(run, keys) == original[run.name], moments
                assert signed(run, public, home), moments
                forms.add(str(stored(run)[0]["key_fingerprint"]))
                shutil.rmtree(home, ignore_errors=True)
            moments.append(f"{moment} ({waited}): {sorted(f[:8] for f in forms)}")

        finished = site.run("rekey", *rekey_args(new_url))
        stale = [f for f in finished.failures if "took over a stale share lock" in f]
        assert finished.failures == stale, (moments, finished.stdout + finished.stderr)
        only_new = {new.fingerprint: new_keyring}
        for run in runs:
            manifest, _ = stored(run)
            assert manifest["key_fingerprint"] == new.fingerprint
            assert plaintexts(run, only_new) == original[run.name]
            for record in records(manifest):
                with pytest.raises(GpgHelperError):
                    old_keyring.decrypt(run / record["file"])
            names = {path.name for path in run.iterdir()}
            expected = {r["file"] for r in records(manifest)}
            expected |= {"manifest.json", "manifest.json.asc", "SHA256SUMS", "RESTORE.txt"}
            assert names == expected, moments
        new_only = site.write_client_config(
            "acme-restore-new",
            {"private-key": b64(new.secret_armored), "private-key-passphrase": NEW_PASSPHRASE},
        )
        verified = site.run(
            "verify",
            "acme",
            new_url,
            "-",
            "-",
            "--run",
            "all",
            "--logs",
            "--restore-vault",
            new_only,
        )
        assert (verified.code, verified.failures) == (0, []), (moments, verified.stdout)
    finally:
        old_keyring.close()
        new_keyring.close()
        stop_agents(work)
    ledger.add_secrets(NEW_PASSPHRASE)
