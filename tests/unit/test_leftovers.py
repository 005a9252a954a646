"""Leftovers: claims written before a thing is made, swept when their owner is dead."""

import json
import os
import signal
import stat
import subprocess
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from adapters.process.claim_records import UNCLAIMED_MAX_AGE_SECONDS, identity_of
from adapters.process.identity import ProcessIdentity, current_identity
from adapters.process.leftovers import FILE, KEYRING, PROCESS, Leftovers


def dead_identity() -> ProcessIdentity:
    """This host and boot, a pid that never ran: the owner of a killed job."""
    return replace(current_identity(), pid=2**22 + 17, started=1)


def claims(work: Path) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted(work.glob("claim-*.json"))]


def test_a_claim_names_the_owner_the_kind_and_the_path_in_a_private_file(tmp_path):
    work = tmp_path / "a" / "work"
    leftovers = Leftovers(work)
    claim = leftovers.claim(FILE, work / "scratch-1.dump")
    [record] = claims(work)
    assert record["kind"] == FILE
    assert record["path"] == str(work / "scratch-1.dump")
    assert record["owner"] == current_identity().to_json()
    [path] = work.glob("claim-*.json")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(work.stat().st_mode) == 0o700
    assert stat.S_IMODE(work.parent.stat().st_mode) == 0o700
    claim.release()
    claim.release()
    assert claims(work) == []


def test_what_a_dead_job_claimed_is_disposed_of_and_its_claim_removed(tmp_path):
    outside = tmp_path / "out"
    outside.mkdir()
    dead = Leftovers(tmp_path / "work", identity=dead_identity)
    scratch = tmp_path / "work" / "scratch-1.dump"
    partial = outside / ".hr.dump.1234.partial"
    home = tmp_path / "work" / "gnupg-abcd1234"
    dead.claim(FILE, scratch)
    dead.claim(FILE, partial)
    dead.claim(KEYRING, home)
    scratch.write_bytes(b"plaintext")
    partial.write_bytes(b"plaintext")
    home.mkdir()
    (home / "private-keys-v1.d").mkdir()
    disposed: list[Path] = []

    def dispose_keyring(path: Path) -> None:
        disposed.append(path)
        (path / "private-keys-v1.d").rmdir()
        path.rmdir()

    swept = Leftovers(tmp_path / "work", {KEYRING: dispose_keyring}).sweep()

    assert sorted((s.kind, s.path) for s in swept) == sorted(
        [(FILE, scratch), (FILE, partial), (KEYRING, home)]
    )
    assert all(s.owner.endswith(f"pid {dead_identity().pid}") for s in swept)
    assert disposed == [home]
    assert not scratch.exists()
    assert not partial.exists()
    assert not home.exists()
    assert claims(tmp_path / "work") == []


def test_what_a_live_job_claimed_is_never_touched(tmp_path):
    live = Leftovers(tmp_path / "work")
    scratch = tmp_path / "work" / "scratch-live.dump"
    live.claim(FILE, scratch)
    scratch.write_bytes(b"in use")
    assert Leftovers(tmp_path / "work").sweep() == []
    assert scratch.read_bytes() == b"in use"
    assert len(claims(tmp_path / "work")) == 1


def test_a_claim_of_another_host_is_never_touched(tmp_path):
    other = Leftovers(tmp_path / "work", identity=lambda: replace(dead_identity(), host="other"))
    scratch = tmp_path / "work" / "scratch-other.dump"
    other.claim(FILE, scratch)
    scratch.write_bytes(b"theirs")
    assert Leftovers(tmp_path / "work").sweep() == []
    assert scratch.exists()


def test_a_thing_that_cannot_be_disposed_of_keeps_its_claim_for_the_next_sweep(tmp_path):
    dead = Leftovers(tmp_path / "work", identity=dead_identity)
    home = tmp_path / "work" / "gnupg-stuck"
    dead.claim(KEYRING, home)

    def refuse(path: Path) -> None:
        raise PermissionError(f"cannot remove {path}")

    assert Leftovers(tmp_path / "work", {KEYRING: refuse}).sweep() == []
    assert len(claims(tmp_path / "work")) == 1
    assert len(Leftovers(tmp_path / "work").sweep()) == 1
    assert claims(tmp_path / "work") == []


def test_a_claim_cut_short_by_a_kill_is_ignored_until_it_is_old(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    torn = work / "claim-torn.json"
    torn.write_text('{"owner": {"host"')
    assert Leftovers(work).sweep() == []
    assert torn.exists()
    old = time.time() - UNCLAIMED_MAX_AGE_SECONDS - 60
    os.utime(torn, (old, old))
    assert Leftovers(work).sweep() == []
    assert not torn.exists()


def test_unclaimed_keyrings_and_scratch_files_of_older_versions_go_after_a_day(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    old_home, fresh_home = work / "gnupg-killed", work / "gnupg-running"
    old_scratch, fresh_scratch = work / "scratch-old.dump", work / "scratch-new.dump"
    for home in (old_home, fresh_home):
        home.mkdir()
        (home / "pubring.kbx").write_bytes(b"keys")
    for scratch in (old_scratch, fresh_scratch):
        scratch.write_bytes(b"plaintext")
    old = time.time() - UNCLAIMED_MAX_AGE_SECONDS - 60
    for path in (old_home, old_scratch):
        os.utime(path, (old, old))

    swept = Leftovers(work).sweep()

    assert sorted(s.path.name for s in swept) == ["gnupg-killed", "scratch-old.dump"]
    assert not old_home.exists()
    assert not old_scratch.exists()
    assert fresh_home.exists()
    assert fresh_scratch.exists()


def test_a_symlinked_leftover_is_unlinked_never_followed(tmp_path):
    target = tmp_path / "precious"
    target.mkdir()
    (target / "data").write_text("keep")
    dead = Leftovers(tmp_path / "work", identity=dead_identity)
    link = tmp_path / "work" / "gnupg-link"
    dead.claim(KEYRING, link)
    link.symlink_to(target)
    assert len(Leftovers(tmp_path / "work").sweep()) == 1
    assert not link.is_symlink()
    assert (target / "data").read_text() == "keep"


def test_at_the_end_of_a_job_what_it_still_claims_is_disposed_of(tmp_path):
    leftovers = Leftovers(tmp_path / "work")
    kept = tmp_path / "work" / "scratch-kept.dump"
    released = tmp_path / "work" / "scratch-released.dump"
    leftovers.claim(FILE, kept)
    done = leftovers.claim(FILE, released)
    kept.write_bytes(b"plaintext")
    done.release()
    assert [s.path for s in leftovers.dispose_own()] == [kept]
    assert not kept.exists()
    assert claims(tmp_path / "work") == []


def test_a_missing_work_root_has_nothing_to_sweep(tmp_path):
    assert Leftovers(tmp_path / "none").sweep() == []
    assert not (tmp_path / "none").exists()


@pytest.mark.parametrize("umask", [0o000, 0o022])
def test_the_work_root_and_its_parents_are_private_whatever_the_umask(tmp_path, umask):
    previous = os.umask(umask)
    try:
        Leftovers(tmp_path / "x" / "y").claim(FILE, tmp_path / "x" / "y" / "scratch-1")
    finally:
        os.umask(previous)
    for path in (tmp_path / "x", tmp_path / "x" / "y"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700


def test_a_dead_jobs_child_that_still_runs_is_killed_and_a_reused_pid_is_not(tmp_path):
    orphan = subprocess.Popen(["sleep", "30"])
    bystander = subprocess.Popen(["sleep", "30"])
    try:
        dead = Leftovers(tmp_path / "work", identity=dead_identity)
        dead.started(orphan.pid)
        # A claim naming the bystander's pid with another start time: a reused pid.
        bystander_identity = identity_of(bystander.pid)
        assert bystander_identity is not None
        reused = replace(bystander_identity, started=1)
        dead.claim(PROCESS, Path(f"/proc/{bystander.pid}"), process=reused)

        swept = Leftovers(tmp_path / "work").sweep()

        assert [s.kind for s in swept] == [PROCESS]
        assert orphan.wait(timeout=10) == -signal.SIGKILL
        assert bystander.poll() is None
        assert claims(tmp_path / "work") == []
    finally:
        for child in (orphan, bystander):
            child.kill()
            child.wait()


def test_a_live_jobs_children_are_written_down_while_they_run(tmp_path):
    leftovers = Leftovers(tmp_path / "work")
    child = subprocess.Popen(["sleep", "30"])
    try:
        forget = leftovers.started(child.pid)
        [record] = claims(tmp_path / "work")
        assert record["kind"] == PROCESS
        assert record["process"]["pid"] == child.pid
        forget()
        assert claims(tmp_path / "work") == []
    finally:
        child.kill()
        child.wait()
