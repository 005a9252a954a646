"""A backup asked to stop (SPEC 15) while each of its nodes runs: exact node order, and after it
no partial run, no keyring, no share marker, no lock and no mount, one line and exit 143."""

import pytest

from domain.framework.results import Failure
from domain.machines.backup import BackupClientMachine
from domain.machines.backup_database import BackupDatabaseMachine
from domain.machines.mount import MountShareMachine
from domain.machines.retention import ApplyRetentionMachine
from domain.services.share_lock import SHARE_LOCK_FILE
from ports.errors import DatabaseError
from tests.support.memory_world import World
from tests.support.stopping import no_stop, stop_during
from tests.unit.machines.test_backup import DB, MOUNT, PREPARE, RETENTION, UNMOUNT

__all__ = ["no_stop"]

pytestmark = pytest.mark.usefixtures("no_stop")

# After a stop the retention nodes are not run (they fail through to the share lock's release).
STOPPED_TAIL = ["dispose_key", "end_of_month_retention", "end_of_year_retention"]
DISCARD = ["discard_run", *STOPPED_TAIL, "release_share_lock"]
CLEAN_TAIL = [
    "dispose_key",
    *RETENTION,
    "end_of_month_retention",
    *RETENTION,
    "end_of_year_retention",
    "release_share_lock",
]

# The node a stop arrives at (it runs to its end), and the machine's results in order.
ORDERS = {
    (MountShareMachine, "read_config"): ["read_config", "take_lock"],
    (MountShareMachine, "take_lock"): ["read_config", "take_lock", "open_share", "release_lock"],
    (MountShareMachine, "open_share"): [*MOUNT[:3], "mount_share", "release_lock"],
    (MountShareMachine, "mount_share"): [*MOUNT, *UNMOUNT],
    (BackupClientMachine, "take_share_lock"): [
        *MOUNT,
        "take_share_lock",
        "start_run",
        "release_share_lock",
        *UNMOUNT,
    ],
    (BackupClientMachine, "start_run"): [*MOUNT, *PREPARE[:3], *DISCARD, *UNMOUNT],
    # load_signing_key is not run, nor inspect_server its exception exit leads to.
    (BackupClientMachine, "load_key"): [*MOUNT, *PREPARE[:5], *DISCARD, *UNMOUNT],
    (BackupClientMachine, "load_signing_key"): [*MOUNT, *PREPARE[:5], *DISCARD, *UNMOUNT],
    (BackupClientMachine, "inspect_server"): [*MOUNT, *PREPARE[:6], *DISCARD, *UNMOUNT],
    (BackupClientMachine, "discover_databases"): [
        *MOUNT,
        *PREPARE,
        "dump_databases",
        *DISCARD,
        *UNMOUNT,
    ],
    (BackupClientMachine, "find_previous_run"): [
        *MOUNT,
        *PREPARE,
        "dump_databases",
        *DISCARD,
        *UNMOUNT,
    ],
    (BackupClientMachine, "dump_globals"): [*MOUNT, *PREPARE, "dump_databases", *DISCARD, *UNMOUNT],
    (BackupClientMachine, "dump_databases"): [
        *MOUNT,
        *PREPARE,
        *["dump_database"] * 3,
        "dump_databases",
        "write_manifest",
        *DISCARD,
        *UNMOUNT,
    ],
    (BackupDatabaseMachine, "dump_database"): [
        *MOUNT,
        *PREPARE,
        "dump_database",
        "record_counts",
        "check_dump",
        "dump_database",
        "dump_database",
        "dump_databases",
        "write_manifest",
        *DISCARD,
        *UNMOUNT,
    ],
    (BackupClientMachine, "write_manifest"): [
        *MOUNT,
        *PREPARE,
        *DB * 3,
        "dump_databases",
        "write_manifest",
        "sign_manifest",
        "publish_run",
        *DISCARD,
        *UNMOUNT,
    ],
    (BackupClientMachine, "sign_manifest"): [
        *MOUNT,
        *PREPARE,
        *DB * 3,
        "dump_databases",
        "write_manifest",
        "sign_manifest",
        "publish_run",
        *DISCARD,
        *UNMOUNT,
    ],
    (BackupClientMachine, "publish_run"): [
        *MOUNT,
        *PREPARE,
        *DB * 3,
        "dump_databases",
        "write_manifest",
        "sign_manifest",
        "publish_run",
        *STOPPED_TAIL,
        "release_share_lock",
        *UNMOUNT,
    ],
    (BackupClientMachine, "dispose_key"): [
        *MOUNT,
        *PREPARE,
        *DB * 3,
        "dump_databases",
        "write_manifest",
        "sign_manifest",
        "publish_run",
        *STOPPED_TAIL,
        "release_share_lock",
        *UNMOUNT,
    ],
    (BackupClientMachine, "end_of_month_retention"): [
        *MOUNT,
        *PREPARE,
        *DB * 3,
        "dump_databases",
        "write_manifest",
        "sign_manifest",
        "publish_run",
        "dispose_key",
        "check_policy",
        "end_of_month_retention",
        "end_of_year_retention",
        "release_share_lock",
        *UNMOUNT,
    ],
    (ApplyRetentionMachine, "survey_runs"): [
        *MOUNT,
        *PREPARE,
        *DB * 3,
        "dump_databases",
        "write_manifest",
        "sign_manifest",
        "publish_run",
        "dispose_key",
        "check_policy",
        "survey_runs",
        "delete_runs",
        "report_kept_runs",
        "end_of_month_retention",
        "end_of_year_retention",
        "release_share_lock",
        *UNMOUNT,
    ],
    (BackupClientMachine, "end_of_year_retention"): [
        *MOUNT,
        *PREPARE,
        *DB * 3,
        "dump_databases",
        "write_manifest",
        "sign_manifest",
        "publish_run",
        "dispose_key",
        *RETENTION,
        "end_of_month_retention",
        "check_policy",
        "end_of_year_retention",
        "release_share_lock",
        *UNMOUNT,
    ],
    (BackupClientMachine, "release_share_lock"): [
        *MOUNT,
        *PREPARE,
        *DB * 3,
        "dump_databases",
        "write_manifest",
        "sign_manifest",
        "publish_run",
        *CLEAN_TAIL,
        *UNMOUNT,
    ],
    (MountShareMachine, "unmount_share"): [
        *MOUNT,
        *PREPARE,
        *DB * 3,
        "dump_databases",
        "write_manifest",
        "sign_manifest",
        "publish_run",
        *CLEAN_TAIL,
        *UNMOUNT,
    ],
}
PUBLISHED_FROM = "publish_run"


def stopped_nodes(node: str) -> bool:
    """Tell whether the run is published when a stop arrives at `node`."""
    order = [name for _, name in ORDERS]
    return order.index(node) >= order.index(PUBLISHED_FROM)


@pytest.mark.parametrize(("machine", "node"), list(ORDERS), ids=[n for _, n in ORDERS])
def test_a_stop_at_each_node_runs_only_clean_up_from_there_in_exact_order(
    monkeypatch, machine, node
):
    world = World()
    stop_during(monkeypatch, machine, node)
    results = world.mount_machine().execute()
    assert [r.node for r in results] == ORDERS[(machine, node)]
    skipped = [r for r in results if isinstance(r, Failure)]
    assert all("not run: the job was terminated by signal SIGTERM" in r.message for r in skipped)


@pytest.mark.parametrize(("machine", "node"), list(ORDERS), ids=[n for _, n in ORDERS])
def test_after_a_stop_at_each_node_nothing_is_held_and_one_line_is_printed(
    monkeypatch, machine, node
):
    world = World()
    stop_during(monkeypatch, machine, node)
    world.run_end_point()
    assert world.console.lines == ["Critical failure: terminated by signal SIGTERM"]
    assert world.exit.code == 143
    assert not any(str(d).endswith(".partial") for d in world.share.dirs)
    assert not world.share.exists(SHARE_LOCK_FILE)
    assert world.lock_table == {}
    assert not world.share.mounted
    assert world.encryptor.open == []
    assert world.encryptor.closes == world.encryptor.loads
    published = [p for p in world.share.files if p.name == "manifest.json"]
    assert len(published) == (1 if stopped_nodes(node) else 0)


def test_a_stop_while_discarding_a_failed_run_still_disposes_and_unlocks(monkeypatch):
    world = World(database_error=DatabaseError("cannot connect to db.acme.test:5432"))
    stop_during(monkeypatch, BackupClientMachine, "discard_run")
    results = world.mount_machine().execute()
    assert [r.node for r in results] == [*MOUNT, *PREPARE[:5], *DISCARD, *UNMOUNT]
    assert [r.node for r in results if not r.ok] == [
        "inspect_server",
        "end_of_month_retention",
        "end_of_year_retention",
    ]
    assert not world.share.exists(SHARE_LOCK_FILE)
    assert world.encryptor.disposed
