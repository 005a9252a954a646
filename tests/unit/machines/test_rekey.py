"""RekeyClientMachine, RekeyRunMachine and RekeyFileMachine with in-memory adapters: every edge."""

from datetime import timedelta
from pathlib import PurePosixPath

import pytest

from adapters.memory.decryptor import InMemoryDecryptor
from adapters.memory.encryptor import InMemoryEncryptor
from adapters.memory.file_share import InMemoryFileShare
from adapters.memory.lock import InMemoryLock
from adapters.memory.signer import InMemorySignatureChecker, InMemorySigner
from domain.models.restore_request import RunChoice
from domain.rules.audit_chain import first_break
from domain.services.share_lock import SHARE_LOCK_FILE
from ports.errors import ShareFullError, ShareUnavailableError, SigningError
from tests.support.crashing import Crash, CrashAfter
from tests.support.rekey_world import NEW_KEY, RekeyWorld
from tests.support.restore_world import FIRST, FIRST_RUN, SECOND_RUN

OLD_KEY = "F" * 40
TAG = NEW_KEY[-16:]
MOUNT = ["read_config", "take_lock", "open_share", "mount_share"]
UNMOUNT = ["run_machine", "unmount_share", "release_lock"]
START = [
    "take_share_lock",
    "load_public_key",
    "read_restore_config",
    "check_backup_config_host",
    "load_key",
    "load_private_keys",
    "check_new_key",
    "load_signing_key",
    "load_trusted_keys",
    "find_runs",
]
FILE = ["reencrypt_file", "check_new_file"]
RUN = [
    "read_manifest",
    "clear_debris",
    "check_signature",
    *FILE * 4,
    "reencrypt_files",
    "write_manifest",
    "switch_manifest",
    "complete_switch",
    "remove_old_files",
    "record_rekey",
]
END = ["rekey_runs", "dispose_keys", "release_share_lock"]
FILES = ["globals.sql.gpg", "sales.dump.gpg", "crm.dump.gpg", "hr.dump.gpg"]


def failed(results):
    return [(r.node, r.message) for r in results if not r.ok]


def names(world, run_dir):
    return sorted(e.name for e in world.share.list_dir(run_dir))


def new_names():
    return sorted(name.removesuffix(".gpg") + f".{TAG}.gpg" for name in FILES)


def test_every_run_is_re_encrypted_to_the_current_key_and_recorded():
    world = RekeyWorld(signed=True)
    results = world.rekey()
    assert [r.node for r in results] == [*MOUNT, *START, *RUN, *RUN, *END, *UNMOUNT]
    assert all(r.ok for r in results), failed(results)
    for run in world.runs_on_share():
        manifest = world.complete(run)
        assert manifest.key_fingerprint == NEW_KEY
        assert manifest.signing_fingerprint == "5" * 40
        assert names(world, run.path) == sorted(
            ["manifest.json", "manifest.json.asc", "SHA256SUMS", "RESTORE.txt", *new_names()]
        )
        sums = world.share.files[run.path / "SHA256SUMS"].decode()
        assert f"  sales.dump.{TAG}.gpg\n" in sums
        assert f"sales.dump.{TAG}.gpg" in world.share.files[run.path / "RESTORE.txt"].decode()
    log = world.log()
    assert [(e["event"], e["run"], e["held"]) for e in log] == [
        ("rekeyed", str(FIRST_RUN), False),
        ("rekeyed", str(SECOND_RUN), False),
    ]
    assert log[0]["from"]["key_fingerprint"] == OLD_KEY
    assert log[0]["to"]["key_fingerprint"] == NEW_KEY
    assert log[0]["old_signature"] == "good"
    assert {f["to"] for f in log[0]["files"]} == set(new_names())
    assert (
        first_break(world.share.files[PurePosixPath("rekey.jsonl")].decode().splitlines()) is None
    )
    assert world.machine.summary(results) == (
        "rekey acme: 2 runs re-encrypted (8 files), 0 finished, 0 already on the current key, "
        "0 failures"
    )
    assert not world.share.exists(SHARE_LOCK_FILE)
    assert world.encryptor.disposed
    assert not world.decryptor.loaded
    assert world.signer is not None
    assert world.signer.open == []
    assert world.checker is not None
    assert world.checker.open == []


def test_a_second_rekey_finds_every_run_on_the_current_key_and_changes_nothing():
    world = RekeyWorld()
    world.rekey()
    before = dict(world.share.files)
    results = world.rekey()
    assert all(r.ok for r in results)
    assert [r.node for r in results] == [*MOUNT, *START, *END, *UNMOUNT]
    assert world.share.files == before
    assert world.machine.summary(results).endswith(
        "0 runs re-encrypted (0 files), 0 finished, 2 already on the current key, 0 failures"
    )


def test_one_named_run_is_re_encrypted_alone():
    world = RekeyWorld()
    results = world.rekey(RunChoice.parse(FIRST))
    assert all(r.ok for r in results)
    [first, second] = world.runs_on_share()
    assert world.manifest(first).key_fingerprint == NEW_KEY
    assert world.manifest(second).key_fingerprint == OLD_KEY


def test_a_dry_run_lists_what_would_be_done_and_changes_nothing():
    world = RekeyWorld()
    before = dict(world.share.files)
    results = world.rekey(dry_run=True)
    assert [r.node for r in results] == [
        *MOUNT,
        "take_share_lock",
        "load_public_key",
        "find_runs",
        "dispose_keys",
        "release_share_lock",
        *UNMOUNT,
    ]
    assert world.share.files == before
    assert world.console.lines == [
        f"would rekey {run}: 4 files from key {OLD_KEY} to key {NEW_KEY}"
        for run in (FIRST_RUN, SECOND_RUN)
    ]
    assert world.decryptor.loads == 0
    assert world.machine.summary(results) == (
        "rekey acme (dry run): 2 runs would be re-encrypted, 0 finished, 0 already on the "
        "current key"
    )


def test_a_held_run_is_re_encrypted_and_the_log_says_it_was_held():
    world = RekeyWorld()
    world.share.files[FIRST_RUN / "HOLD"] = b"reason: litigation 2026-17\n"
    dry = world.rekey(dry_run=True)
    assert all(r.ok for r in dry)
    assert world.console.lines[0].endswith("(HOLD: re-encrypted all the same)")
    results = world.rekey()
    assert all(r.ok for r in results)
    assert world.manifest(world.runs_on_share()[0]).key_fingerprint == NEW_KEY
    assert world.share.files[FIRST_RUN / "HOLD"] == b"reason: litigation 2026-17\n"
    entry = world.log()[0]
    assert entry["held"] is True
    assert entry["note"].startswith("held: a HOLD protects a run from deletion")


def test_a_restore_config_without_the_new_private_key_changes_nothing():
    world = RekeyWorld(decryptor=InMemoryDecryptor(fail=True))
    before = dict(world.share.files)
    results = world.rekey()
    assert [r.node for r in results] == [
        *MOUNT,
        *START[:7],
        "dispose_keys",
        "release_share_lock",
        *UNMOUNT,
    ]
    [(node, message)] = failed(results)
    assert node == "check_new_key"
    assert message.startswith(
        f"acme the restore config holds no private key for the current public key {NEW_KEY} "
    )
    assert message.endswith("nothing was changed")
    assert world.share.files == before


def test_a_restore_config_that_does_not_load_changes_nothing():
    world = RekeyWorld(decryptor=InMemoryDecryptor(passphrase="other"))
    before = dict(world.share.files)
    results = world.rekey()
    assert [node for node, _ in failed(results)] == ["load_key"]
    assert world.share.files == before
    assert not world.share.exists(SHARE_LOCK_FILE)


def test_a_public_key_that_does_not_load_stops_before_anything():
    world = RekeyWorld(encryptor=InMemoryEncryptor(key_names={"globex"}))
    results = world.rekey()
    assert [r.node for r in results] == [
        *MOUNT,
        "take_share_lock",
        "load_public_key",
        "release_share_lock",
        *UNMOUNT,
    ]
    assert not world.share.exists(SHARE_LOCK_FILE)


def test_a_live_share_lock_refuses_the_rekey():
    world = RekeyWorld()
    world.share.files[SHARE_LOCK_FILE] = (
        b'{"owner": "host other pid 9", "since": "2026-12-29T22:00:00+00:00"}'
    )
    results = world.rekey()
    assert [r.node for r in results] == [*MOUNT, "take_share_lock", *UNMOUNT]
    assert "another run for acme is in progress" in failed(results)[0][1]


def test_a_changed_run_is_not_re_encrypted_and_the_others_are():
    world = RekeyWorld(signed=True)
    path = FIRST_RUN / "manifest.json"
    world.share.files[path] = world.share.files[path].replace(
        b'"key_name": "acme"', b'"key_name": "x"'
    )
    before = {p: c for p, c in world.share.files.items() if FIRST_RUN in p.parents}
    results = world.rekey()
    assert failed(results) == [
        (
            "check_signature",
            f"acme {FIRST_RUN} manifest.json does not match its signature manifest.json.asc "
            f"(key {'5' * 40}): the manifest was changed after it was signed; not re-encrypted",
        )
    ]
    assert {p: c for p, c in world.share.files.items() if FIRST_RUN in p.parents} == before
    assert world.manifest(world.runs_on_share()[1]).key_fingerprint == NEW_KEY


def test_a_signed_run_is_not_re_encrypted_without_a_key_to_sign_it_again():
    world = RekeyWorld(signed=True)
    world.signer = None
    results = world.rekey(RunChoice.parse(FIRST))
    assert failed(results) == [
        (
            "check_signature",
            f"acme {FIRST_RUN} is signed, but no [signing] key_file is set to sign its new "
            "manifest; not re-encrypted",
        )
    ]
    assert world.manifest(world.runs_on_share()[0]).key_fingerprint == OLD_KEY


def test_an_unsigned_run_is_refused_when_signatures_are_required_and_signed_when_not():
    strict = RekeyWorld(signer=InMemorySigner(), checker=InMemorySignatureChecker(), require=True)
    results = strict.rekey(RunChoice.parse(FIRST))
    assert [node for node, _ in failed(results)] == ["check_signature"]
    assert "is not signed" in failed(results)[0][1]

    relaxed = RekeyWorld(signer=InMemorySigner(), checker=InMemorySignatureChecker())
    results = relaxed.rekey(RunChoice.parse(FIRST))
    assert all(r.ok for r in results)
    manifest = relaxed.manifest(relaxed.runs_on_share()[0])
    assert manifest.signing_fingerprint == "5" * 40
    assert relaxed.log()[0]["old_signature"] == "unsigned"


def test_a_signing_key_that_does_not_load_changes_nothing():
    world = RekeyWorld(signer=InMemorySigner(error=SigningError("key_file open to others")))
    before = dict(world.share.files)
    results = world.rekey()
    assert failed(results) == [("load_signing_key", "acme key_file open to others")]
    assert world.share.files == before


class Full(InMemoryFileShare):
    """Has no room for a re-encrypted file."""

    def write_stream(self, path, chunks):
        if TAG in path.name:
            raise ShareFullError("share is full")
        return super().write_stream(path, chunks)


def adopt(world, share):
    share.files, share.dirs = world.share.files, world.share.dirs
    world.backup.opener.share = share
    world.share = share
    return share


def test_a_file_that_cannot_be_re_encrypted_leaves_its_run_unchanged():
    world = RekeyWorld()
    adopt(world, Full())
    before = dict(world.share.files)
    results = world.rekey(RunChoice.parse(FIRST))
    assert failed(results) == [
        *[("reencrypt_file", f"acme {FIRST_RUN}/{name} share is full") for name in FILES],
        (
            "reencrypt_files",
            f"acme {FIRST_RUN} not every file was re-encrypted; the run is unchanged",
        ),
    ]
    assert world.share.files == before
    assert world.log() == []


def test_a_file_that_no_longer_matches_its_manifest_is_not_re_encrypted():
    world = RekeyWorld()
    path = FIRST_RUN / "crm.dump.gpg"
    world.share.files[path] = world.share.files[path] + b"ENC:appended"
    results = world.rekey(RunChoice.parse(FIRST))
    [crm] = [m for n, m in failed(results) if n == "reencrypt_file"]
    assert crm.startswith(f"acme {path} is ")
    assert crm.endswith("the manifest says " + crm.split("the manifest says ")[1])
    assert "not re-encrypted" in crm
    assert world.manifest(world.runs_on_share()[0]).key_fingerprint == OLD_KEY
    assert names(world, FIRST_RUN) == sorted(["manifest.json", "SHA256SUMS", "RESTORE.txt", *FILES])


class Corrupting(InMemoryFileShare):
    """Reads back a re-encrypted file with one byte changed."""

    def read_stream(self, path):
        for chunk in super().read_stream(path):
            yield chunk.replace(b"PGDMP", b"PGDMQ") if TAG in path.name else chunk


def test_a_new_file_that_decrypts_to_other_bytes_is_removed_and_the_run_kept():
    world = RekeyWorld()
    adopt(world, Corrupting())
    results = world.rekey(RunChoice.parse(FIRST))
    messages = [m for n, m in failed(results) if n == "check_new_file"]
    assert len(messages) == 3
    assert "decrypts to" in messages[0]
    assert "not the" in messages[0]
    assert names(world, FIRST_RUN) == sorted(["manifest.json", "SHA256SUMS", "RESTORE.txt", *FILES])


def test_a_switch_the_share_refuses_leaves_the_old_run_and_no_new_files():
    world = RekeyWorld(signed=True)
    world.share.broken["replace"] = ShareUnavailableError("sharing violation")
    results = world.rekey(RunChoice.parse(FIRST))
    assert failed(results) == [("switch_manifest", f"acme {FIRST_RUN} sharing violation")]
    world.share.broken.clear()
    assert names(world, FIRST_RUN) == sorted(
        ["manifest.json", "manifest.json.asc", "SHA256SUMS", "RESTORE.txt", *FILES]
    )
    assert world.complete(world.runs_on_share()[0]).key_fingerprint == OLD_KEY


def test_an_unreadable_manifest_is_one_failure_and_the_other_runs_go_on():
    world = RekeyWorld()
    world.share.files[FIRST_RUN / "manifest.json"] = b"{broken"
    results = world.rekey()
    [(node, message)] = failed(results)
    assert node == "read_manifest"
    assert message.startswith(f"acme {FIRST_RUN} {FIRST_RUN}/manifest.json is not a valid manifest")
    assert world.manifest(world.runs_on_share()[1]).key_fingerprint == NEW_KEY


def test_an_escrow_key_change_alone_re_encrypts_every_run():
    world = RekeyWorld()
    world.rekey()
    world.backup.values["escrow-public-key"] = "ZXNjcm93"
    world.backup.source.values["escrow-public-key"] = "ZXNjcm93"
    results = world.rekey()
    assert all(r.ok for r in results), failed(results)
    manifest = world.manifest(world.runs_on_share()[0])
    assert manifest.escrow_fingerprint == "E" * 40
    assert f"sales.dump.{TAG}-{'E' * 16}.gpg" in names(world, FIRST_RUN)
    assert f"sales.dump.{TAG}.gpg" not in names(world, FIRST_RUN)


# ---------------------------------------------------------------- killed at any moment


class CrashingShare(CrashAfter, InMemoryFileShare):
    """An in-memory share that dies before its (budget + 1)th change."""

    def __init__(self, budget: int) -> None:
        super().__init__()
        self.budget = budget


def crashing(world, budget):
    share = CrashingShare(budget)
    share.files, share.dirs = dict(world.share.files), set(world.share.dirs)
    world.backup.opener.share = share
    world.share = share
    return share


def changes_of_a_whole_rekey():
    world = RekeyWorld(signed=True)
    share = crashing(world, 10_000)
    world.rekey()
    return 10_000 - share.budget


@pytest.mark.parametrize("budget", range(changes_of_a_whole_rekey()))
def test_a_rekey_killed_at_any_change_leaves_every_run_complete_and_the_next_one_finishes(
    budget,
):
    world = RekeyWorld(signed=True, share_lock_max_age=timedelta(0))
    share = crashing(world, budget)
    with pytest.raises(Crash):
        world.rekey()
    share.budget = 10_000
    world.lock = InMemoryLock({})  # the kernel drops a killed job's flock
    for run in world.runs_on_share():
        world.complete(run)
    results = world.rekey()
    stale = [(n, m) for n, m in failed(results) if "took over a stale share lock" in m]
    assert failed(results) == stale
    for run in world.runs_on_share():
        manifest = world.complete(run)
        assert manifest.key_fingerprint == NEW_KEY
        assert names(world, run.path) == sorted(
            ["manifest.json", "manifest.json.asc", "SHA256SUMS", "RESTORE.txt", *new_names()]
        )
        assert world.share.files[run.path / "SHA256SUMS"] == manifest.sha256sums()
    assert (
        first_break(world.share.files[PurePosixPath("rekey.jsonl")].decode().splitlines()) is None
    )
    assert {e["run"] for e in world.log()} == {str(FIRST_RUN), str(SECOND_RUN)}


def test_a_dry_run_names_what_an_interrupted_rekey_left_to_finish():
    world = RekeyWorld(signed=True, share_lock_max_age=timedelta(0))
    share = crashing(world, 12)  # killed after the first run's switch, before RESTORE.txt
    with pytest.raises(Crash):
        world.rekey()
    share.budget = 10_000
    world.lock = InMemoryLock({})
    world.console.lines.clear()
    results = world.rekey(dry_run=True)
    assert all(r.ok for r in results)
    assert world.console.lines == [
        f"would finish {FIRST_RUN}: an interrupted rekey left RESTORE.txt.next, "
        + ", ".join(sorted(FILES))
        + ", rekey.jsonl",
        f"would rekey {SECOND_RUN}: 4 files from key {OLD_KEY} to key {NEW_KEY}",
    ]
    results = world.rekey()
    assert world.machine.summary(results).endswith(
        "1 runs re-encrypted (4 files), 1 finished, 0 already on the current key, 1 failures"
    )
    finished = world.log()[0]
    assert finished["event"] == "finished"
    assert finished["removed"] == ["RESTORE.txt.next", *sorted(FILES)]
    assert finished["restored"] == ["rekey.jsonl", "SHA256SUMS", "RESTORE.txt"]


def test_a_switched_manifest_left_only_as_pending_is_put_back():
    world = RekeyWorld(signed=True)
    world.rekey(RunChoice.parse(FIRST))
    world.share.rename(FIRST_RUN / "manifest.json", FIRST_RUN / "manifest.json.next")
    assert world.complete(world.runs_on_share()[0]).key_fingerprint == NEW_KEY
    results = world.rekey(RunChoice.parse(FIRST))
    assert all(r.ok for r in results), failed(results)
    assert "manifest.json" in names(world, FIRST_RUN)
    assert "manifest.json.next" not in names(world, FIRST_RUN)
    assert world.log()[-1]["restored"][0] == "manifest.json"


def test_rekeyed_runs_verify_and_restore_with_their_globals_under_the_new_names():
    from domain.models.restore_request import RestoreRequest, VerifyRequest

    world = RekeyWorld()
    world.rekey()
    restore = world.restore
    results = restore.verify_machine(VerifyRequest(run=RunChoice.parse("all", allow_all=True)))
    assert [r for r in results.execute() if not r.ok] == []
    assert restore.machine.summary([]).startswith(
        "verify acme: 2 runs, 8 files checked, 8 decrypted"
    )
    request = RestoreRequest(
        database="sales", target_database="copy", run=RunChoice.parse(FIRST), globals=True
    )
    results = restore.restore_machine(request).execute()
    assert failed(results) == []
    assert restore.restorer.globals_sql == [b"CREATE ROLE app;\n"]
