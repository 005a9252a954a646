"""VerifyRunsMachine, VerifyRunMachine and VerifyFileMachine with in-memory adapters."""

import json
from pathlib import PurePosixPath

from adapters.memory.decompressor import InMemoryDecompressor
from adapters.memory.decryptor import InMemoryDecryptor
from domain.models.restore_request import RunChoice, VerifyRequest
from ports.errors import ArchiveError, ShareUnavailableError
from tests.support.restore_world import FIRST, PASSPHRASE, SECOND_RUN, RestoreWorld

MOUNT = ["read_config", "take_lock", "open_share", "mount_share"]
UNMOUNT = ["run_machine", "unmount_share", "release_lock"]
START = [
    "read_restore_config",
    "check_backup_config_host",
    "load_key",
    "load_private_key",
    "load_trusted_keys",
    "find_runs",
]
FILE = ["check_file", "decrypt_file"]
RUN = ["read_manifest", "check_signature", *FILE * 4, "check_files"]
END = ["verify_runs", "verify_logs", "dispose_key"]


def run(world, choice="latest", **kwargs):
    request = VerifyRequest(run=RunChoice.parse(choice, allow_all=True))
    return world.verify_machine(request, **kwargs).execute()


def failed(results):
    return [(r.node, r.message) for r in results if not r.ok]


def test_the_latest_run_verifies_clean_with_the_key():
    world = RestoreWorld()
    results = run(world)
    assert [r.node for r in results] == [*MOUNT, *START, *RUN, *END, *UNMOUNT]
    assert all(r.ok for r in results)
    assert world.machine.summary(results) == (
        "verify acme: 1 run, 4 files checked, 4 decrypted, 0 problems"
    )
    assert world.decryptor.disposals == 1
    assert world.files.files == {}


def test_every_run_is_verified_with_all():
    world = RestoreWorld()
    results = run(world, "all")
    assert [r.node for r in results] == [*MOUNT, *START, *RUN, *RUN, *END, *UNMOUNT]
    assert world.machine.summary(results).startswith("verify acme: 2 runs, 8 files checked")


def test_a_named_run_is_verified():
    world = RestoreWorld()
    results = run(world, FIRST)
    assert all(r.ok for r in results)
    assert world.machine.summary(results).startswith("verify acme: 1 run, 4 files")


def test_without_the_restore_vault_only_sizes_and_sums_are_checked():
    world = RestoreWorld()
    results = run(world, with_key=False)
    assert all(r.ok for r in results)
    assert not world.decryptor.loaded
    assert world.machine.summary(results) == (
        "verify acme: 1 run, 4 files checked, 0 decrypted, 0 problems"
    )


def test_a_changed_byte_is_one_failure_naming_the_file():
    world = RestoreWorld()
    path = SECOND_RUN / "crm.dump.gpg"
    data = bytearray(world.share.files[path])
    data[-1] ^= 1
    world.share.files[path] = bytes(data)
    results = run(world)
    problems = failed(results)
    assert len(problems) == 1
    assert problems[0][0] == "check_file"
    assert problems[0][1].startswith(f"acme {path} has sha256 ")


def test_a_missing_file_is_one_failure_naming_it():
    world = RestoreWorld()
    del world.share.files[SECOND_RUN / "hr.dump.gpg"]
    results = run(world)
    assert failed(results) == [
        ("check_file", f"acme {SECOND_RUN}/hr.dump.gpg {SECOND_RUN}/hr.dump.gpg does not exist")
    ]


def test_a_truncated_file_reports_its_size():
    world = RestoreWorld()
    path = SECOND_RUN / "globals.sql.gpg"
    world.share.files[path] = world.share.files[path][:-3]
    results = run(world)
    assert "the manifest says" in failed(results)[0][1]
    assert " bytes, " in failed(results)[0][1]


def test_a_broken_manifest_is_one_failure_naming_the_run():
    world = RestoreWorld()
    world.share.files[SECOND_RUN / "manifest.json"] = b"{not json"
    results = run(world)
    assert [r.node for r in results] == [*MOUNT, *START, "read_manifest", *END, *UNMOUNT]
    assert failed(results)[0][1].startswith(
        f"acme {SECOND_RUN} {SECOND_RUN}/manifest.json is not a valid manifest"
    )


def test_a_dump_that_does_not_decrypt_is_one_failure_per_file():
    world = RestoreWorld(decryptor=InMemoryDecryptor(passphrase=PASSPHRASE, fail=True))
    results = run(world)
    assert [node for node, _ in failed(results)] == ["decrypt_file"] * 4


def test_a_dump_pg_restore_cannot_list_is_one_failure():
    world = RestoreWorld(
        archives_broken={"check_archive": ArchiveError("pg_restore --list failed")}
    )
    results = run(world)
    assert [m for _, m in failed(results)] == [
        f"acme {SECOND_RUN}/{name}.dump.gpg pg_restore --list failed"
        for name in ("sales", "crm", "hr")
    ]


def test_an_invalid_restore_config_still_checks_sizes():
    world = RestoreWorld(restore={"private-key-passphrase": PASSPHRASE})
    results = run(world)
    assert [r.node for r in results] == [
        *MOUNT,
        "read_restore_config",
        "load_private_key",
        "load_trusted_keys",
        "find_runs",
        *RUN,
        *END,
        *UNMOUNT,
    ]
    assert failed(results) == [
        ("read_restore_config", "acme invalid restore config: private-key is missing")
    ]
    assert world.machine.summary(results).endswith("4 files checked, 0 decrypted, 1 problems")


def test_a_wrong_passphrase_still_checks_sizes():
    world = RestoreWorld(decryptor=InMemoryDecryptor(passphrase="other"))
    results = run(world)
    assert [node for node, _ in failed(results)] == ["load_key"]
    assert world.machine.summary(results).endswith("4 files checked, 0 decrypted, 1 problems")


def test_no_runs_is_one_failure():
    world = RestoreWorld(runs=0)
    results = run(world)
    assert [r.node for r in results] == [*MOUNT, *START, "verify_logs", "dispose_key", *UNMOUNT]
    assert failed(results) == [("find_runs", "acme there is no published run on the share")]


def test_an_unknown_run_is_one_failure():
    world = RestoreWorld()
    results = run(world, "20200101T000000Z")
    assert failed(results)[0][1].startswith("acme run 20200101T000000Z is not on the share")


def test_an_unreadable_share_listing_is_one_failure():
    world = RestoreWorld()
    world.share.broken["list_dir"] = ShareUnavailableError("share went away")
    results = run(world)
    assert failed(results) == [("find_runs", "acme share went away")]


def test_the_end_point_prints_one_line_per_problem_and_exits_with_their_number():
    world = RestoreWorld()
    for name in ("crm", "hr"):
        world.share.files[SECOND_RUN / f"{name}.dump.gpg"] += b"x"
    world.end_point(world.verify_machine(VerifyRequest()))
    assert world.code == 2
    assert [line.split(" ")[1:3] for line in world.lines[:2]] == [
        ["check_file", "acme"],
        ["check_file", "acme"],
    ]
    assert world.lines[-1].endswith("2 problems")


def test_a_keyring_that_cannot_be_disposed_is_one_failure():
    world = RestoreWorld(
        decryptor=InMemoryDecryptor(passphrase=PASSPHRASE, close_error=OSError("busy"))
    )
    results = run(world)
    assert failed(results) == [("dispose_key", "acme unrecognized exception: busy")]


# ---------------------------------------------------------------------- zstd and mixed runs


def test_gzip_and_zstd_runs_on_one_share_all_verify_clean():
    world = RestoreWorld(compressions=["gzip:6", "zstd:3"])
    results = run(world, "all")
    assert [r.node for r in results] == [*MOUNT, *START, *RUN, *RUN, *END, *UNMOUNT]
    assert all(r.ok for r in results)
    assert world.machine.summary(results) == (
        "verify acme: 2 runs, 8 files checked, 8 decrypted, 0 problems"
    )
    assert world.decompressor.decompressed == 4


def test_a_zstd_file_that_does_not_decompress_is_one_failure_per_file():
    world = RestoreWorld(
        compressions=["zstd:3", "zstd:3"], decompressor=InMemoryDecompressor(fail=True)
    )
    results = run(world)
    names = ["globals.sql.zst.gpg", "sales.dump.zst.gpg", "crm.dump.zst.gpg", "hr.dump.zst.gpg"]
    assert [m for _, m in failed(results)] == [
        f"acme {SECOND_RUN}/{name} zstd failed to decompress (exit 1): corrupted block detected"
        for name in names
    ]


def test_an_archive_that_lost_entries_since_it_was_made_is_one_failure():
    world = RestoreWorld(runs=1)
    path = PurePosixPath("end-of-month/2026-11/20261128T220000Z/manifest.json")
    document = json.loads(world.share.files[path])
    document["databases"][0]["toc_entries"] = 9
    world.share.files[path] = json.dumps(document).encode()
    results = run(world)
    [(node, message)] = failed(results)
    assert node == "decrypt_file"
    assert message.endswith(
        "holds 3 TOC entries, 3 of them TABLE DATA; when it was made it held 9, 3 of them "
        "TABLE DATA: entries are missing or it is another archive"
    )


def test_archives_of_an_old_manifest_are_checked_for_readability_and_the_summary_says_so():
    world = RestoreWorld(runs=1)
    path = PurePosixPath("end-of-month/2026-11/20261128T220000Z/manifest.json")
    document = json.loads(world.share.files[path])
    for entry in document["databases"]:
        for key in ("toc_entries", "table_data_entries", "large_objects", "tables"):
            del entry[key]
    world.share.files[path] = json.dumps(document).encode()
    machine = world.verify_machine(VerifyRequest())
    results = machine.execute()
    assert all(r.ok for r in results)
    assert world.machine.summary(results).endswith(
        "4 decrypted (3 of them only for readability: their manifests recorded no counts), "
        "0 problems"
    )


def test_a_zstd_archive_is_decompressed_then_held_to_the_counts_recorded_when_it_was_made():
    world = RestoreWorld(runs=1, compressions=["zstd:3"])
    path = PurePosixPath("end-of-month/2026-11/20261128T220000Z/manifest.json")
    document = json.loads(world.share.files[path])
    document["databases"][0]["table_data_entries"] = 5
    world.share.files[path] = json.dumps(document).encode()
    results = run(world)
    [(node, message)] = failed(results)
    assert node == "decrypt_file"
    assert "/sales.dump.zst.gpg holds 3 TOC entries, 3 of them TABLE DATA" in message
    assert message.endswith(
        "it held 3, 5 of them TABLE DATA: entries are missing or it is another archive"
    )
    assert world.decompressor.decompressed == 4
