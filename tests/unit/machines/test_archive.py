"""ArchiveFileMachine with in-memory adapters: every edge."""

import json
from pathlib import PurePosixPath

import pytest

from adapters.memory.encryptor import InMemoryEncryptor
from adapters.memory.file_share import InMemoryFileShare
from adapters.memory.local_files import InMemoryLocalFiles
from domain.rules.naming import archive_name_problem
from ports.errors import EncryptionError, LocalFileError, ShareFullError, ShareUnavailableError
from tests.support.operations_world import ArchiveWorld, CheckWorld

MOUNT = ["read_config", "take_lock", "open_share", "mount_share"]
UNMOUNT = ["run_machine", "unmount_share", "release_lock"]
ARCHIVE = [
    "check_file",
    "load_key",
    "load_signing_key",
    "store_file",
    "sign_file",
    "record_archive",
    "dispose_key",
]
TARGET = PurePosixPath("archive/contracts/report 2026.pdf.gpg")
MANIFEST = PurePosixPath("archive/contracts/ARCHIVE.jsonl")


def run(world):
    return world.mount_machine().execute()


def failed(results):
    return [(r.node, r.message) for r in results if not r.ok]


def test_a_file_is_stored_encrypted_and_recorded_with_its_sha256():
    world = ArchiveWorld()
    results = run(world)
    assert [r.node for r in results] == [*MOUNT, *ARCHIVE, *UNMOUNT]
    assert all(r.ok for r in results)
    share = world.check.share
    stored = share.files[TARGET]
    assert InMemoryEncryptor.decrypt(stored) == world.content
    assert world.content not in stored
    entry = json.loads(share.files[MANIFEST].decode())
    assert len(entry.pop("line_sha256")) == 64
    receipt = world.machine.receipt
    assert entry == {
        "name": "report 2026.pdf",
        "file": "report 2026.pdf.gpg",
        "bytes": len(world.content),
        "stored_bytes": len(stored),
        "sha256": receipt.sha256,
        "archived": "2026-11-28T12:00:00+00:00",
        "client": "acme",
        "key_name": "acme",
        "key_fingerprint": "F" * 40,
        "escrow_fingerprint": None,
        "prev": "0" * 64,
    }
    assert world.check.encryptor.disposed
    assert share.names() == [str(MANIFEST), str(TARGET)]


def test_the_default_folder_is_the_current_month_and_entries_accumulate():
    world = ArchiveWorld(folder=None)
    run(world)
    other = PurePosixPath("/home/op/second.txt")
    world.files.files[other] = b"second"
    world.file = other
    run(world)
    lines = world.check.share.files[PurePosixPath("archive/2026-11/ARCHIVE.jsonl")].splitlines()
    assert [json.loads(line)["name"] for line in lines] == ["report 2026.pdf", "second.txt"]


def test_the_summary_says_where_the_file_went():
    world = ArchiveWorld()
    world.run_end_point()
    assert world.check.exit.code == 0
    assert world.check.console.lines[-1].startswith(
        "archive acme: report 2026.pdf (260 bytes) stored as archive/contracts/report 2026.pdf.gpg"
    )


def test_an_existing_archive_is_never_replaced():
    world = ArchiveWorld()
    run(world)
    before = dict(world.check.share.files)
    results = run(world)
    assert [r.node for r in results] == [*MOUNT, "check_file", *UNMOUNT]
    assert failed(results) == [
        (
            "check_file",
            f"acme report 2026.pdf {TARGET} is already archived; refusing to replace it, nothing "
            "was changed",
        )
    ]
    assert world.check.share.files == before


def test_a_missing_local_file_is_one_failure():
    world = ArchiveWorld()
    world.files.files.clear()
    results = run(world)
    assert failed(results) == [
        ("check_file", "acme report 2026.pdf /home/op/report 2026.pdf does not exist")
    ]


def test_a_name_a_share_cannot_hold_is_refused():
    world = ArchiveWorld(file=PurePosixPath("/home/op/what?.txt"))
    results = run(world)
    assert [node for node, _ in failed(results)] == ["check_file"]
    assert "has a name a share cannot hold" in failed(results)[0][1]


@pytest.mark.parametrize(
    ("name", "ok"),
    [("report.pdf", True), (".hidden", True), ("..", False), ("a:b", False), (" x", False)],
)
def test_archive_names_are_judged_for_the_share(name, ok):
    assert (archive_name_problem(name) is None) is ok


def test_a_key_that_does_not_match_is_one_failure_and_nothing_is_stored():
    world = ArchiveWorld(check=CheckWorld(encryptor=InMemoryEncryptor(key_names=["globex"])))
    results = run(world)
    assert [r.node for r in results] == [*MOUNT, "check_file", "load_key", "dispose_key", *UNMOUNT]
    assert failed(results) == [
        ("load_key", "acme report 2026.pdf the public key does not match key-name 'acme'")
    ]
    assert world.check.share.names() == []


def test_a_failing_encryption_stores_nothing():
    world = ArchiveWorld(check=CheckWorld(encryptor=InMemoryEncryptor(fail=True)))
    results = run(world)
    assert [r.node for r in results] == [*MOUNT, *ARCHIVE[:4], "dispose_key", *UNMOUNT]
    assert failed(results) == [("store_file", "acme report 2026.pdf gpg failed: encryption broken")]
    assert world.check.share.names() == []


def test_a_full_share_stores_nothing():
    share = InMemoryFileShare(fail_writes_after=0, error=ShareFullError("no space left"))
    world = ArchiveWorld(check=CheckWorld(share=share))
    results = run(world)
    assert failed(results) == [("store_file", "acme report 2026.pdf no space left")]
    assert share.names() == []


def test_an_unreadable_local_file_is_one_failure():
    files = InMemoryLocalFiles(broken={"read_chunks": LocalFileError("cannot read: EIO")})
    world = ArchiveWorld(files=files)
    results = run(world)
    assert failed(results) == [("store_file", "acme report 2026.pdf cannot read: EIO")]
    assert world.check.share.names() == []


def test_a_file_that_cannot_be_recorded_is_removed_again():
    share = InMemoryFileShare(broken={"append_line": ShareUnavailableError("append refused")})
    world = ArchiveWorld(check=CheckWorld(share=share))
    results = run(world)
    assert [r.node for r in results] == [
        *MOUNT,
        *ARCHIVE[:6],
        "remove_archived",
        "dispose_key",
        *UNMOUNT,
    ]
    assert failed(results) == [("record_archive", "acme report 2026.pdf append refused")]
    assert share.names() == []
    assert (
        world.machine.summary(results) == "archive acme: report 2026.pdf not archived, 1 failures"
    )


def test_a_file_that_can_neither_be_recorded_nor_removed_is_two_failures():
    share = InMemoryFileShare(
        broken={
            "append_line": ShareUnavailableError("append refused"),
            "delete_file": ShareUnavailableError("delete refused"),
        }
    )
    world = ArchiveWorld(check=CheckWorld(share=share))
    results = run(world)
    assert failed(results) == [
        ("record_archive", "acme report 2026.pdf append refused"),
        ("remove_archived", "acme report 2026.pdf delete refused"),
    ]


def test_a_failing_keyring_disposal_is_one_failure():
    encryptor = InMemoryEncryptor(close_error=EncryptionError("cannot remove keyring"))
    world = ArchiveWorld(check=CheckWorld(encryptor=encryptor))
    results = run(world)
    assert failed(results) == [("dispose_key", "acme report 2026.pdf cannot remove keyring")]
    assert world.check.share.exists(TARGET)


# ---------------------------------------------------------------- signed archives (SPEC 14)

SIGNATURE = PurePosixPath("archive/contracts/report 2026.pdf.gpg.asc")


def test_a_signed_archive_stores_a_detached_signature_of_the_stored_file_and_records_it():
    from adapters.memory.signer import SIGNING_FINGERPRINT, InMemorySignatureChecker, InMemorySigner

    world = ArchiveWorld(signer=InMemorySigner())
    results = run(world)
    assert [r.node for r in results] == [*MOUNT, *ARCHIVE, *UNMOUNT]
    assert all(r.ok for r in results)
    share = world.check.share
    trusted = InMemorySignatureChecker().load()
    assert trusted.check(share.files[TARGET], share.files[SIGNATURE]).good
    entry = json.loads(share.files[MANIFEST].decode())
    assert entry["signature"] == "report 2026.pdf.gpg.asc"
    assert entry["signing_fingerprint"] == SIGNING_FINGERPRINT
    assert world.signer is not None
    assert world.signer.open == []


def test_a_signing_key_that_cannot_be_loaded_archives_nothing():
    from adapters.memory.signer import InMemorySigner
    from ports.errors import SigningError

    world = ArchiveWorld(signer=InMemorySigner(error=SigningError("key_file is open to others")))
    results = run(world)
    assert [r.node for r in results] == [
        *MOUNT,
        *ARCHIVE[:3],
        "dispose_key",
        *UNMOUNT,
    ]
    assert failed(results) == [
        ("load_signing_key", "acme report 2026.pdf key_file is open to others")
    ]
    assert world.check.share.names() == []


def test_a_file_that_cannot_be_signed_is_removed_again():
    from adapters.memory.signer import InMemorySigner
    from ports.errors import SigningError

    world = ArchiveWorld(signer=InMemorySigner(sign_error=SigningError("gpg failed to sign")))
    results = run(world)
    assert [r.node for r in results] == [
        *MOUNT,
        *ARCHIVE[:5],
        "remove_archived",
        "dispose_key",
        *UNMOUNT,
    ]
    assert failed(results) == [("sign_file", "acme report 2026.pdf gpg failed to sign")]
    assert world.check.share.names() == []


def test_an_existing_signature_of_the_same_name_refuses_the_archive():
    world = ArchiveWorld()
    world.check.share.make_dirs(SIGNATURE.parent)
    world.check.share.files[SIGNATURE] = b"left over"
    results = run(world)
    assert failed(results) == [
        (
            "check_file",
            f"acme report 2026.pdf {SIGNATURE} is already archived; refusing to replace it, "
            "nothing was changed",
        )
    ]
    assert world.check.share.files[SIGNATURE] == b"left over"


def test_a_stored_file_that_reads_back_other_bytes_is_not_signed_and_removed():
    from adapters.memory.signer import InMemorySigner

    class Corrupting(InMemoryFileShare):
        def read_stream(self, path):
            for chunk in super().read_stream(path):
                yield chunk[:-1] + b"!" if path == TARGET else chunk

    world = ArchiveWorld(check=CheckWorld(share=Corrupting()), signer=InMemorySigner())
    results = run(world)
    assert failed(results) == [
        ("sign_file", f"acme report 2026.pdf {TARGET} reads back other bytes than were written")
    ]
    assert world.check.share.names() == []
