"""DecryptDumpMachine with in-memory adapters: every edge, exact node order."""

import json
from pathlib import PurePosixPath
from typing import Any

from adapters.memory.decompressor import FRAME, InMemoryDecompressor
from adapters.memory.decryptor import InMemoryDecryptor
from adapters.memory.encryptor import InMemoryEncryptor
from domain.models.restore_request import DecryptRequest, RunChoice
from ports.errors import ArchiveError, LocalFileError
from tests.support.restore_world import FIRST, FIRST_RUN, PASSPHRASE, SECOND_RUN, RestoreWorld

MOUNT = ["read_config", "take_lock", "open_share", "mount_share"]
UNMOUNT = ["run_machine", "unmount_share", "release_lock"]
HAPPY = [
    "check_output",
    "read_restore_config",
    "check_backup_config_host",
    "load_key",
    "load_private_key",
    "find_run",
    "decrypt_dump",
    "dispose_key",
]
OUTPUT = PurePosixPath("/home/op/hr.dump")


def run(world, **overrides):
    values: dict[str, Any] = {"database": "hr", "output": OUTPUT}
    values.update(overrides)
    return world.decrypt_machine(DecryptRequest(**values)).execute()


def failed(results):
    return [(r.node, r.message) for r in results if not r.ok]


def test_decrypt_writes_the_newest_dump_to_a_private_file():
    world = RestoreWorld()
    results = run(world)
    assert [r.node for r in results] == [*MOUNT, *HAPPY, *UNMOUNT]
    assert all(r.ok for r in results)
    plain = InMemoryEncryptor.decrypt(world.share.files[SECOND_RUN / "hr.dump.gpg"])
    assert world.files.files == {OUTPUT: plain}
    assert world.files.modes[OUTPUT] == 0o600
    assert world.decryptor.disposals == 1
    assert world.machine.summary(results).endswith(
        f"written to {OUTPUT} (custom-format dump, {len(plain)} bytes)"
    )


def test_a_named_run_is_decrypted():
    world = RestoreWorld()
    run(world, run=RunChoice.parse(FIRST))
    assert world.files.files[OUTPUT] == InMemoryEncryptor.decrypt(
        world.share.files[FIRST_RUN / "hr.dump.gpg"]
    )


def test_sql_goes_through_pg_restore():
    world = RestoreWorld()
    results = run(world, sql=True)
    assert all(r.ok for r in results)
    assert world.files.files[OUTPUT].startswith(b"-- SQL of PGDMPhr")
    assert "(plain SQL, " in world.machine.summary(results)


def test_an_existing_output_is_never_overwritten():
    world = RestoreWorld()
    world.files.files[OUTPUT] = b"precious"
    results = run(world)
    assert [r.node for r in results] == [*MOUNT, "check_output", *UNMOUNT]
    assert failed(results) == [
        ("check_output", f"acme hr {OUTPUT} already exists; nothing was written")
    ]
    assert world.files.files[OUTPUT] == b"precious"
    assert world.decryptor.disposals == 0


def test_an_invalid_restore_config_stops_before_the_key():
    world = RestoreWorld(restore={"private-key-passphrase": PASSPHRASE})
    results = run(world)
    assert [r.node for r in results] == [*MOUNT, *HAPPY[:2], "load_private_key", *UNMOUNT]
    assert failed(results) == [
        ("read_restore_config", "acme hr invalid restore config: private-key is missing")
    ]


def test_a_wrong_passphrase_writes_nothing():
    world = RestoreWorld(decryptor=InMemoryDecryptor(passphrase="other"))
    results = run(world)
    assert [r.node for r in results] == [*MOUNT, *HAPPY[:5], *UNMOUNT]
    assert world.files.files == {}


def test_a_missing_database_is_one_failure():
    world = RestoreWorld()
    results = run(world, database="nope")
    assert [r.node for r in results] == [*MOUNT, *HAPPY[:6], "dispose_key", *UNMOUNT]
    assert failed(results)[0][0] == "find_run"


def test_a_failing_decryption_leaves_no_output():
    world = RestoreWorld(decryptor=InMemoryDecryptor(passphrase=PASSPHRASE, fail=True))
    results = run(world)
    assert [r.node for r in results] == [*MOUNT, *HAPPY, *UNMOUNT]
    assert [node for node, _ in failed(results)] == ["decrypt_dump"]
    assert world.files.files == {}
    assert world.machine.summary(results).endswith("not written, 1 failures")


def test_a_failing_pg_restore_leaves_no_sql_output():
    world = RestoreWorld(archives_broken={"to_sql": ArchiveError("pg_restore -f failed")})
    results = run(world, sql=True)
    assert failed(results) == [("decrypt_dump", "acme hr pg_restore -f failed")]
    assert world.files.files == {}


def test_a_stored_file_that_differs_from_the_manifest_removes_the_output():
    world = RestoreWorld()
    path = SECOND_RUN / "manifest.json"
    manifest = json.loads(world.share.files[path])
    manifest["databases"][2]["sha256"] = "0" * 64
    world.share.files[path] = json.dumps(manifest).encode()
    results = run(world)
    assert failed(results)[0][1].startswith("acme hr hr.dump.gpg has sha256 ")
    assert world.files.files == {}


def test_an_unwritable_output_is_one_failure():
    world = RestoreWorld(files_broken={"write_private": LocalFileError("cannot create /home/op")})
    results = run(world)
    assert failed(results) == [("decrypt_dump", "acme hr cannot create /home/op")]


def test_a_keyring_that_cannot_be_disposed_is_one_failure():
    world = RestoreWorld(
        decryptor=InMemoryDecryptor(passphrase=PASSPHRASE, close_error=OSError("busy"))
    )
    results = run(world)
    assert failed(results) == [("dispose_key", "acme hr unrecognized exception: busy")]
    assert OUTPUT in world.files.files


# ---------------------------------------------------------------------- zstd and mixed runs


def test_a_zstd_dump_is_written_decompressed_so_pg_restore_reads_it_as_it_is():
    world = RestoreWorld(compressions=["gzip:6", "zstd:3"])
    results = run(world)
    assert [r.node for r in results] == [*MOUNT, *HAPPY, *UNMOUNT]
    stored = InMemoryEncryptor.decrypt(world.share.files[SECOND_RUN / "hr.dump.zst.gpg"])
    assert world.files.files[OUTPUT] == stored.removeprefix(FRAME)
    assert world.files.files[OUTPUT].startswith(b"PGDMPhr")
    assert world.decompressor.decompressed == 1


def test_a_zstd_dump_converts_to_sql():
    world = RestoreWorld(compressions=["zstd:3", "zstd:3"])
    results = run(world, sql=True)
    assert all(r.ok for r in results)
    assert world.files.files[OUTPUT].startswith(b"-- SQL of PGDMPhr")


def test_an_older_gzip_run_beside_zstd_runs_is_written_without_zstd():
    world = RestoreWorld(compressions=["gzip:6", "zstd:3"])
    results = run(world, run=RunChoice.parse(FIRST))
    assert all(r.ok for r in results)
    assert world.files.files[OUTPUT] == InMemoryEncryptor.decrypt(
        world.share.files[FIRST_RUN / "hr.dump.gpg"]
    )
    assert world.decompressor.decompressed == 0


def test_a_zstd_stream_that_does_not_decompress_leaves_no_output():
    world = RestoreWorld(
        compressions=["zstd:3", "zstd:3"], decompressor=InMemoryDecompressor(fail=True)
    )
    results = run(world)
    assert failed(results) == [
        ("decrypt_dump", "acme hr zstd failed to decompress (exit 1): corrupted block detected")
    ]
    assert world.files.files == {}
