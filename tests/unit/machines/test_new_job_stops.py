"""Hold, release, rekey, drill and the report's survey asked to stop (SPEC 15): exact node order,
only clean-up nodes from there, and nothing held afterwards (share marker, keyrings, scratch
database, plaintext, half-made files); hold, release and rekey take over a dead run's marker."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath

import pytest

from adapters.memory.clock import FixedClock
from adapters.memory.config_source import InMemoryConfigSource
from adapters.memory.encryptor import InMemoryEncryptor
from adapters.memory.file_share import InMemoryFileShare
from adapters.memory.host_processes import InMemoryHostProcesses
from domain.framework.stop import STOP
from domain.machines.drill_database import DrillDatabaseMachine
from domain.machines.hold import HoldRunMachine, Operator, ReleaseRunMachine
from domain.machines.mount import ClientContext
from domain.machines.rekey_file import RekeyFileMachine
from domain.machines.rekey_run import RekeyRunMachine
from domain.machines.retention import RetentionOptions
from domain.machines.survey import SurveyClientMachine
from domain.models.hold import HoldRequest
from domain.models.redaction import Redactor
from domain.models.restore_request import DrillRequest
from domain.models.run import RunId
from domain.services.configs import read_client_config
from domain.services.share_lock import SHARE_LOCK_FILE
from ports.host_processes import ProcessOwner
from tests.support.memory_world import client_values
from tests.support.rekey_world import NEW_KEY, RekeyWorld
from tests.support.restore_world import FIRST_RUN, SECOND_RUN, RestoreWorld
from tests.support.seeding import at, seed_run
from tests.support.stopping import no_stop, stop_during
from tests.unit.machines.test_rekey import END, FILE, MOUNT, START, UNMOUNT

__all__ = ["no_stop"]

pytestmark = pytest.mark.usefixtures("no_stop")

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
RUN_ID = RunId.at(at(2026, 3))
LOG = PurePosixPath("retention.log")
OLD_KEY = "F" * 40


def nodes(results):
    return [r.node for r in results]


def hold_machine(kind, share, processes=None):
    config = read_client_config(InMemoryConfigSource(client_values()), "acme", Redactor())
    return kind(
        ClientContext(config, share),
        request=HoldRequest(run_id=RUN_ID, reason="case 42"),
        clock=FixedClock(NOW),
        operator=Operator(user="alice", host="ops1"),
        lock_owner="host test-host pid 42",
        share_lock_max_age=timedelta(hours=48),
        processes=processes or InMemoryHostProcesses(),
    )


def held_share() -> tuple[InMemoryFileShare, PurePosixPath]:
    share = InMemoryFileShare()
    return share, seed_run(share, at(2026, 3))


def log_events(share):
    if LOG not in share.files:
        return []
    return [json.loads(line)["event"] for line in share.files[LOG].decode().splitlines()]


# ---------------------------------------------------------------- hold and release


def test_a_hold_stopped_while_it_writes_the_hold_file_still_records_it_and_unlocks(monkeypatch):
    share, path = held_share()
    stop_during(monkeypatch, HoldRunMachine, "write_hold")
    results = hold_machine(HoldRunMachine, share).execute()
    assert nodes(results) == [
        "take_share_lock", "find_run", "write_hold", "record_hold", "release_share_lock",
    ]  # fmt: skip
    assert path / "HOLD" in share.files
    assert log_events(share) == ["hold"], "a hold that happened is in the audit log"
    assert SHARE_LOCK_FILE not in share.files


def test_a_hold_stopped_before_it_writes_anything_changes_nothing_and_unlocks(monkeypatch):
    share, path = held_share()
    stop_during(monkeypatch, HoldRunMachine, "find_run")
    results = hold_machine(HoldRunMachine, share).execute()
    assert nodes(results) == ["take_share_lock", "find_run", "write_hold", "release_share_lock"]
    assert path / "HOLD" not in share.files
    assert log_events(share) == []
    assert SHARE_LOCK_FILE not in share.files


def test_a_release_stopped_after_its_log_entry_leaves_the_run_held_and_unlocks(monkeypatch):
    share, path = held_share()
    hold_machine(HoldRunMachine, share).execute()
    stop_during(monkeypatch, ReleaseRunMachine, "record_release")
    results = hold_machine(ReleaseRunMachine, share).execute()
    assert nodes(results) == [
        "take_share_lock", "find_run", "record_release", "remove_hold", "release_share_lock",
    ]  # fmt: skip
    # A stop never makes a run deletable: the HOLD file stays, on the side of the hold.
    assert path / "HOLD" in share.files
    assert log_events(share) == ["hold", "release"]
    assert SHARE_LOCK_FILE not in share.files


def dead_marker(share: InMemoryFileShare, pid: int = 7) -> None:
    """Write the marker a killed run of this host left a minute ago."""
    process = {"host": "test-host", "pid": pid, "started": "boot:50"}
    since = (NOW - timedelta(minutes=1)).isoformat()
    marker = {"owner": f"host test-host pid {pid}", "since": since, "process": process}
    share.files[SHARE_LOCK_FILE] = json.dumps(marker).encode()


@pytest.mark.parametrize("kind", [HoldRunMachine, ReleaseRunMachine])
def test_hold_and_release_take_over_the_marker_of_a_dead_run_of_this_host_at_once(kind):
    share, path = held_share()
    if kind is ReleaseRunMachine:
        hold_machine(HoldRunMachine, share).execute()
    dead_marker(share)
    results = hold_machine(kind, share).execute()
    assert all(r.ok for r in results), [r.message for r in results if not r.ok]
    assert (path / "HOLD" in share.files) == (kind is HoldRunMachine)
    assert SHARE_LOCK_FILE not in share.files


def test_a_hold_is_refused_by_the_marker_of_a_live_run_of_this_host_however_young():
    share, path = held_share()
    dead_marker(share, pid=8)
    live = InMemoryHostProcesses()
    live.running.add(ProcessOwner("test-host", 8, "boot:50"))
    results = hold_machine(HoldRunMachine, share, live).execute()
    assert nodes(results) == ["take_share_lock"]
    assert "another run for acme is in progress (host test-host pid 8" in results[0].message
    assert path / "HOLD" not in share.files


# ---------------------------------------------------------------- rekey


def test_a_rekey_stopped_while_a_file_is_re_encrypted_removes_the_new_files_and_the_keys(
    monkeypatch,
):
    world = RekeyWorld(signed=True)
    before = dict(world.share.files)
    stop_during(monkeypatch, RekeyFileMachine, "reencrypt_file")
    results = world.rekey()
    first = [
        "read_manifest", "clear_debris", "check_signature",
        "reencrypt_file", "check_new_file", "remove_new_file",
        *["reencrypt_file", "remove_new_file"] * 3,
        "reencrypt_files", "remove_new_files",
    ]  # fmt: skip
    assert nodes(results) == [*MOUNT, *START, *first, "read_manifest", *END, *UNMOUNT]
    assert world.share.files == before, "both runs stay exactly as they were"
    assert not world.decryptor.loaded
    assert world.encryptor.disposed
    assert world.signer is not None
    assert world.signer.open == []
    assert world.checker is not None
    assert world.checker.open == []


def test_a_rekey_stopped_at_its_switch_completes_the_switched_run_and_records_it(monkeypatch):
    world = RekeyWorld(signed=True)
    stop_during(monkeypatch, RekeyRunMachine, "switch_manifest")
    results = world.rekey()
    first = [
        "read_manifest", "clear_debris", "check_signature", *FILE * 4, "reencrypt_files",
        "write_manifest", "switch_manifest", "complete_switch", "remove_old_files",
        "record_rekey",
    ]  # fmt: skip
    assert nodes(results) == [*MOUNT, *START, *first, "read_manifest", *END, *UNMOUNT]
    runs = {run.path: run for run in world.runs_on_share()}
    # The switched run is whole in its new form (signature, sums), the other in its old one.
    assert world.complete(runs[FIRST_RUN]).key_fingerprint == NEW_KEY
    assert world.complete(runs[SECOND_RUN]).key_fingerprint == OLD_KEY
    assert [entry["run"] for entry in world.log()] == [str(FIRST_RUN)]
    assert not world.share.exists(SHARE_LOCK_FILE)
    assert not world.decryptor.loaded

    # The next rekey removes the old files the stop left and re-encrypts the other run.
    STOP.clear()
    monkeypatch.undo()
    again = world.rekey()
    assert all(r.ok for r in again), [r.message for r in again if not r.ok]
    for run in world.runs_on_share():
        assert world.complete(run).key_fingerprint == NEW_KEY
        stored = {e.name for e in world.share.list_dir(run.path) if e.name.endswith(".gpg")}
        assert all(f".{NEW_KEY[-16:]}.gpg" in name for name in stored), stored


def test_a_rekey_takes_over_the_marker_of_a_dead_run_of_this_host_at_once():
    world = RekeyWorld(processes=InMemoryHostProcesses())
    dead_marker(world.share)
    results = world.rekey()
    assert all(r.ok for r in results), [r.message for r in results if not r.ok]
    assert not world.share.exists(SHARE_LOCK_FILE)


# ---------------------------------------------------------------- drill


def test_a_drill_stopped_during_a_restore_drops_that_scratch_database_and_starts_no_other(
    monkeypatch,
):
    world = RestoreWorld()
    stop_during(monkeypatch, DrillDatabaseMachine, "restore_dump")
    results = world.drill_machine(DrillRequest(target_host="drill.test")).execute()
    assert nodes(results) == [
        *MOUNT,
        "read_restore_config", "check_backup_config_host", "load_key", "load_private_key",
        "find_run", "inspect_target", "drop_abandoned_scratch",
        "decrypt_dump", "create_scratch", "restore_dump", "count_rows", "drop_scratch",
        "remove_plaintext", "drill_databases", "dispose_key",
        *UNMOUNT,
    ]  # fmt: skip
    assert world.restorer.dropped == ["lts_drill_20261229220000_1"]
    assert world.restorer.objects == {}
    assert world.files.files == {}
    assert not world.decryptor.loaded
    lines = world.share.files[PurePosixPath("drills.jsonl")].decode().splitlines()
    (entry,) = [json.loads(line) for line in lines]
    assert (entry["database"], entry["result"]) == ("sales", "failed")


# ---------------------------------------------------------------- the report's survey


def test_a_survey_stopped_while_the_public_key_loads_still_disposes_of_it(monkeypatch):
    share = InMemoryFileShare()
    seed_run(share, at(2026, 10))
    encryptor = InMemoryEncryptor()
    config = read_client_config(InMemoryConfigSource(client_values()), "acme", Redactor())
    survey = SurveyClientMachine(
        ClientContext(config, share),
        encryptor=encryptor,
        clock=FixedClock(NOW),
        retention=RetentionOptions(),
    )
    stop_during(monkeypatch, SurveyClientMachine, "load_public_key")
    results = survey.execute()
    assert nodes(results)[-2:] == ["load_public_key", "dispose_public_key"]
    assert encryptor.disposed
    assert encryptor.open == []
