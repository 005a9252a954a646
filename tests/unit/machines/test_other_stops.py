"""Restore, decrypt, retention and archive asked to stop (SPEC 15): only clean-up runs, so the
plaintext, the private key, a target this run created and a stored but unrecorded archive go."""

from dataclasses import replace
from datetime import timedelta
from pathlib import PurePosixPath

import pytest

from adapters.memory.restorer import InMemoryRestorer
from domain.machines.archive import ArchiveFileMachine
from domain.machines.decrypt import DecryptDumpMachine
from domain.machines.restore import RestoreDatabaseMachine
from domain.machines.retention import DeleteRunMachine
from domain.models.restore_request import DecryptRequest, RestoreRequest
from domain.services.share_lock import SHARE_LOCK_FILE
from tests.support.memory_world import World, client_values
from tests.support.operations_world import ArchiveWorld
from tests.support.restore_world import RestoreWorld
from tests.support.stopping import no_stop, stop_during

__all__ = ["no_stop"]

pytestmark = pytest.mark.usefixtures("no_stop")

MOUNT = ["read_config", "take_lock", "open_share", "mount_share"]
UNMOUNT = ["run_machine", "unmount_share", "release_lock"]
LOAD = ["read_restore_config", "check_backup_config_host", "load_key", "load_private_key"]


def restore(world: RestoreWorld) -> list[str]:
    request = RestoreRequest(database="sales", target_database="sales_copy")
    return [r.node for r in world.restore_machine(request).execute()]


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        ("find_run", [*LOAD, "find_run", "check_target", "dispose_key"]),
        (
            "decrypt_dump",
            [*LOAD, "find_run", "check_target", "decrypt_dump", "restore_globals",
             "read_properties", "remove_plaintext", "dispose_key"],
        ),
        (
            "create_database",
            [*LOAD, "find_run", "check_target", "decrypt_dump", "restore_globals",
             "read_properties", "create_database", "restore_database", "drop_failed_target",
             "remove_plaintext", "dispose_key"],
        ),
        (
            "restore_database",
            [*LOAD, "find_run", "check_target", "decrypt_dump", "restore_globals",
             "read_properties", "create_database", "restore_database", "apply_properties",
             "count_tables", "remove_plaintext", "dispose_key"],
        ),
    ],
)  # fmt: skip
def test_a_stopped_restore_removes_the_plaintext_and_the_key_and_drops_what_it_created(
    monkeypatch, node, expected
):
    world = RestoreWorld()
    stop_during(monkeypatch, RestoreDatabaseMachine, node)
    assert restore(world) == [*MOUNT, *expected, *UNMOUNT]
    assert world.files.files == {}
    assert not world.decryptor.loaded
    if node == "create_database":
        assert world.restorer.dropped == ["sales_copy"]
        assert "sales_copy" not in world.restorer.objects


def test_a_restore_stopped_while_pg_restore_runs_drops_the_target_it_created(monkeypatch):
    world = RestoreWorld()
    world.restorer = InMemoryRestorer(world.files, broken={"restore": RuntimeError("killed")})
    world.ports = replace(world.ports, restorer=world.restorer)
    stop_during(monkeypatch, RestoreDatabaseMachine, "restore_database")
    nodes = restore(world)
    assert nodes[-6:] == ["drop_failed_target", "remove_plaintext", "dispose_key", *UNMOUNT]
    assert world.restorer.dropped == ["sales_copy"]
    assert world.files.files == {}


def test_a_stopped_decrypt_writes_no_output_and_disposes_of_the_key(monkeypatch):
    world = RestoreWorld()
    stop_during(monkeypatch, DecryptDumpMachine, "find_run")
    request = DecryptRequest(database="sales", output=PurePosixPath("/out/sales.dump"))
    results = world.decrypt_machine(request).execute()
    assert [r.node for r in results] == [
        *MOUNT, "check_output", *LOAD, "find_run", "decrypt_dump", "dispose_key", *UNMOUNT,
    ]  # fmt: skip
    assert world.files.files == {}
    assert not world.decryptor.loaded


def test_a_stopped_retention_starts_no_deletion_and_releases_the_share_lock(monkeypatch):
    world = World(values=client_values(**{"end-of-month-retention": "20"}))
    world.run_end_point()
    world.clock.advance(timedelta(days=40))
    stop_during(monkeypatch, DeleteRunMachine, "retire_run")
    world.run_end_point()
    assert world.console.lines[-1:] == ["Critical failure: terminated by signal SIGTERM"]
    assert world.exit.code == 143
    assert not world.share.exists(SHARE_LOCK_FILE)
    # The expired run was renamed to partial debris (the node that ran), never half deleted:
    # its files are all there under the debris name, and the new run is published.
    old = PurePosixPath("end-of-month/2026-11/20261128T220000Z")
    debris = PurePosixPath(f"{old}.partial")
    assert not world.share.exists(old)
    assert {p.name for p in world.share.files if p.parent == debris} >= {
        "manifest.json", "SHA256SUMS", "sales.dump.gpg",
    }  # fmt: skip
    assert world.share.exists(PurePosixPath("end-of-month/2027-01/20270107T220000Z/manifest.json"))


def test_an_archive_stored_but_not_recorded_when_stopped_is_removed_again(monkeypatch):
    world = ArchiveWorld()
    stop_during(monkeypatch, ArchiveFileMachine, "store_file")
    results = world.mount_machine().execute()
    assert [r.node for r in results] == [
        *MOUNT, "check_file", "load_key", "load_signing_key", "store_file", "sign_file",
        "remove_archived", "dispose_key", *UNMOUNT,
    ]  # fmt: skip
    assert world.check.share.names() == []
    assert world.check.encryptor.open == []
