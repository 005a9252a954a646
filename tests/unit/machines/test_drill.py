"""DrillRunMachine and DrillDatabaseMachine with in-memory adapters: every edge, exact order."""

import json
from pathlib import PurePosixPath
from typing import Any

from domain.models.restore_request import DrillRequest, RunChoice
from domain.rules.audit_chain import first_break
from domain.services.scratch_databases import SCRATCH_NOTE, abandoned
from ports.errors import RestoreError, ShareUnavailableError
from ports.restorer import ScratchDatabase
from tests.support.restore_world import FIRST, SECOND, SECOND_RUN, RestoreWorld, restore_values

MOUNT = ["read_config", "take_lock", "open_share", "mount_share"]
UNMOUNT = ["run_machine", "unmount_share", "release_lock"]
KEY = ["read_restore_config", "check_backup_config_host", "load_key", "load_private_key"]
COMPARE = ["compare_rows"] * 3
DRILL = [
    "decrypt_dump",
    "create_scratch",
    "restore_dump",
    "count_rows",
    *COMPARE,
    "compare_counts",
    "drop_scratch",
    "remove_plaintext",
]
DRILLS = PurePosixPath("drills.jsonl")
CREATE_FAILED = [
    *MOUNT,
    *KEY,
    "find_run",
    "inspect_target",
    "drop_abandoned_scratch",
    "decrypt_dump",
    "create_scratch",
    "drop_scratch",
    "remove_plaintext",
    "drill_databases",
    "dispose_key",
    *UNMOUNT,
]
"""One database drilled, its scratch database not made (or dropped at once)."""


def run(world, **overrides):
    values: dict[str, Any] = {"target_host": "drill.test"}
    values.update(overrides)
    return world.drill_machine(DrillRequest(**values)).execute()


def order(results):
    return [r.node for r in results]


def failed(results):
    return [(r.node, r.message) for r in results if not r.ok]


def entries(world):
    return [json.loads(line) for line in world.share.files[DRILLS].decode().splitlines()]


def test_a_clean_drill_restores_every_database_compares_drops_and_records_itself():
    world = RestoreWorld()
    results = run(world)
    assert order(results) == [
        *MOUNT,
        *KEY,
        "find_run",
        "inspect_target",
        "drop_abandoned_scratch",
        *DRILL * 3,
        "drill_databases",
        "dispose_key",
        *UNMOUNT,
    ]
    assert all(r.ok for r in results)
    scratch = ["lts_drill_20261229220000_1", "lts_drill_20261229220000_2"]
    assert world.restorer.dropped == [*scratch, "lts_drill_20261229220000_3"]
    assert world.restorer.objects == {}
    assert world.files.files == {}
    assert world.decryptor.disposals == 1
    assert {t.server.host for t in world.restorer.targets} == {"drill.test"}
    lines = entries(world)
    assert [(e["run"], e["database"], e["result"]) for e in lines] == [
        (SECOND, "sales", "ok"),
        (SECOND, "crm", "ok"),
        (SECOND, "hr", "ok"),
    ]
    first = lines[0]
    assert first["tables_compared"] == 3
    assert first["mismatches"] == 0
    assert first["counts_recorded"] is True
    assert first["target"] == "drill.test:5432"
    assert first["scratch_database"] == scratch[0]
    assert first["pg_restore_version"] == "15.4"
    assert first["server_version"] == "15.4"
    assert first["pg_dump_version"] == "15.0"
    assert first["lts_version"] == "test"
    assert first["problems"] == []
    assert first["duration_seconds"] == 0
    assert first_break(world.share.files[DRILLS].decode().splitlines()) is None
    assert world.machine.summary(results) == (
        f"drill acme: run {SECOND} (end-of-month/2026-12) on drill.test:5432: 3 of 3 databases "
        "restored and matched, 9 tables compared, 0 mismatches, 0 failures"
    )


def test_the_end_point_exits_zero_with_only_the_summary():
    world = RestoreWorld()
    world.end_point(world.drill_machine(DrillRequest(target_host="drill.test")))
    assert world.code == 0
    assert len(world.lines) == 1
    assert world.lines[0].startswith("drill acme: run ")


def test_a_named_run_and_databases_drill_only_those():
    world = RestoreWorld()
    results = run(world, run=RunChoice.parse(FIRST), databases=("hr",))
    assert all(r.ok for r in results)
    assert [(e["run"], e["database"]) for e in entries(world)] == [(FIRST, "hr")]


def test_each_table_whose_rows_differ_is_one_failure_and_the_drill_is_recorded_failed():
    world = RestoreWorld()
    world.restorer.source_rows["sales"] = {"public.t1": 10, "public.t2": 19, "public.t4": 1}
    world.end_point(world.drill_machine(DrillRequest(target_host="drill.test")))
    assert world.code == 3
    assert world.lines[:3] == [
        "Failure: compare_rows acme sales public.t2 has 19 rows after the restore; the dump "
        "held 20 when it was made",
        "Failure: compare_rows acme sales public.t3 is missing after the restore; the dump held "
        "30 rows",
        "Failure: compare_rows acme sales public.t4 holds 1 rows after the restore; the dump "
        "held no such table",
    ]
    sales = entries(world)[0]
    assert (sales["result"], sales["tables_compared"], sales["mismatches"]) == ("failed", 4, 3)
    assert len(sales["problems"]) == 3
    assert "lts_drill_20261229220000_1" in world.restorer.dropped


def test_a_dump_replaced_by_another_databases_dump_fails_on_the_row_counts():
    world = RestoreWorld()
    manifest_path = SECOND_RUN / "manifest.json"
    manifest = json.loads(world.share.files[manifest_path])
    by_name = {d["name"]: d for d in manifest["databases"]}
    world.share.files[SECOND_RUN / "sales.dump.gpg"] = world.share.files[
        SECOND_RUN / "crm.dump.gpg"
    ]
    # The attacker made size and sha256 agree: only the rows can tell.
    for key in ("bytes", "sha256"):
        by_name["sales"][key] = by_name["crm"][key]
    world.share.files[manifest_path] = json.dumps(manifest).encode()
    world.restorer.source_rows["crm"] = {"public.contacts": 7}
    results = run(world, databases=("sales",))
    assert [node for node, _ in failed(results)] == ["compare_rows"] * 4
    assert entries(world)[0]["result"] == "failed"


def test_an_old_manifest_without_row_counts_is_drilled_without_comparing_and_says_so(caplog):
    world = RestoreWorld()
    manifest_path = SECOND_RUN / "manifest.json"
    manifest = json.loads(world.share.files[manifest_path])
    for entry in manifest["databases"]:
        entry.pop("tables")
    world.share.files[manifest_path] = json.dumps(manifest).encode()
    results = run(world, databases=("hr",))
    assert all(r.ok for r in results)
    assert "compare_rows" not in order(results)
    [entry] = entries(world)
    assert (entry["result"], entry["counts_recorded"], entry["tables_compared"]) == (
        "ok",
        False,
        0,
    )
    assert "the manifest recorded no row counts" in caplog.text


def test_a_failing_restore_still_drops_the_scratch_database_and_removes_the_plaintext():
    world = RestoreWorld(restorer_broken={"restore": RestoreError("pg_restore exited with 1")})
    results = run(world, databases=("hr",))
    assert order(results) == [
        *MOUNT,
        *KEY,
        "find_run",
        "inspect_target",
        "drop_abandoned_scratch",
        "decrypt_dump",
        "create_scratch",
        "restore_dump",
        "drop_scratch",
        "remove_plaintext",
        "drill_databases",
        "dispose_key",
        *UNMOUNT,
    ]
    assert failed(results) == [("restore_dump", "acme hr pg_restore exited with 1")]
    assert world.restorer.dropped == ["lts_drill_20261229220000_1"]
    assert world.files.files == {}
    assert entries(world)[0]["result"] == "failed"
    assert entries(world)[0]["problems"] == ["acme hr pg_restore exited with 1"]


def test_a_scratch_database_that_cannot_be_dropped_is_a_failure_and_a_failed_drill():
    world = RestoreWorld(restorer_broken={"drop_database": RestoreError("database is in use")})
    results = run(world, databases=("hr",))
    assert failed(results) == [("drop_scratch", "acme hr database is in use")]
    assert entries(world)[0]["result"] == "failed"
    assert world.files.files == {}


def test_an_existing_database_of_the_scratch_name_is_never_touched():
    world = RestoreWorld(objects={"lts_drill_20261229220000_1": 4})
    results = run(world, databases=("hr",))
    assert failed(results) == [
        (
            "create_scratch",
            "acme hr the scratch database lts_drill_20261229220000_1 on drill.test:5432 exists "
            "already; it was not touched",
        )
    ]
    assert world.restorer.dropped == []
    assert world.restorer.objects == {"lts_drill_20261229220000_1": 4}


def test_a_dump_that_differs_from_its_manifest_is_not_restored():
    world = RestoreWorld()
    path = SECOND_RUN / "hr.dump.gpg"
    world.share.files[path] += b"ENC:more"
    results = run(world, databases=("hr",))
    assert order(results)[len(MOUNT) + len(KEY) + 3 :][:2] == ["decrypt_dump", "remove_plaintext"]
    assert "the manifest says" in failed(results)[0][1]
    assert world.restorer.targets[1:] == []


def test_databases_that_are_not_in_the_run_are_one_failure_and_the_others_drilled():
    world = RestoreWorld()
    results = run(world, databases=("hr", "nope"))
    assert failed(results) == [
        ("find_run", f"acme run {SECOND} cannot drill nope (not in the run)")
    ]
    assert [e["database"] for e in entries(world)] == ["hr"]


def test_a_run_with_nothing_to_drill_stops_before_the_target_is_asked():
    world = RestoreWorld()
    results = run(world, databases=("nope",))
    assert order(results) == [*MOUNT, *KEY, "find_run", "dispose_key", *UNMOUNT]
    assert DRILLS not in world.share.files


def test_an_unreachable_target_is_one_failure_and_nothing_is_decrypted():
    world = RestoreWorld(restorer_broken={"versions": RestoreError("cannot connect to drill.test")})
    results = run(world)
    assert order(results) == [*MOUNT, *KEY, "find_run", "inspect_target", "dispose_key", *UNMOUNT]
    assert failed(results) == [("inspect_target", "acme cannot connect to drill.test")]
    assert world.files.removed == []


def test_a_drill_log_that_cannot_be_appended_to_is_one_failure():
    world = RestoreWorld()
    world.share.broken["append_line"] = ShareUnavailableError("share is read-only")
    results = run(world, databases=("hr",))
    assert failed(results) == [
        ("drill_databases", "acme drills not recorded in drills.jsonl: hr: share is read-only")
    ]


def test_a_restore_config_of_another_client_is_refused():
    world = RestoreWorld(restore=restore_values(**{"backup-config-host": "https://kv-other"}))
    results = run(world)
    assert order(results) == [*MOUNT, *KEY[:2], "load_private_key", *UNMOUNT]
    assert world.restorer.targets == []


def test_no_run_at_all_is_one_failure():
    world = RestoreWorld(runs=0)
    results = run(world)
    assert failed(results) == [("find_run", "acme there is no published run on the share")]


def test_the_drill_restores_the_stored_dump_without_owners_or_privileges():
    world = RestoreWorld()
    run(world, databases=("crm",))
    assert [(o.jobs, o.clean, o.keep_owners) for o in world.restorer.options] == [(1, False, False)]
    assert world.restorer.created == {
        "lts_drill_20261229220000_1": 'CREATE DATABASE "lts_drill_20261229220000_1" WITH '
        "TEMPLATE = template0 ENCODING = 'UTF8'"
    }


def test_a_zstd_run_is_decompressed_through_the_one_read_path_and_drills_clean():
    world = RestoreWorld(compressions=["gzip:6", "zstd:3"])
    results = run(world)
    assert all(r.ok for r in results)
    assert world.decompressor.decompressed == 3
    assert [e["result"] for e in entries(world)] == ["ok"] * 3
    assert world.files.files == {}
    assert world.restorer.objects == {}


def test_a_zstd_dump_that_does_not_decompress_is_not_restored_and_leaves_nothing():
    from adapters.memory.decompressor import InMemoryDecompressor

    world = RestoreWorld(
        compressions=["zstd:3", "zstd:3"], decompressor=InMemoryDecompressor(fail=True)
    )
    results = run(world, databases=("sales",))
    assert failed(results)[0] == (
        "decrypt_dump",
        "acme sales zstd failed to decompress (exit 1): corrupted block detected",
    )
    assert entries(world)[0]["result"] == "failed"
    assert world.files.files == {}
    assert world.restorer.objects == {}


# ------------------------------------------------------------ scratch databases of ended drills


def left_behind(world, name, *, note=SCRATCH_NOTE, objects=3):
    """Leave a scratch database as a killed drill does: no live claim holds it."""
    world.restorer.objects[name] = objects
    if note is not None:
        world.restorer.notes[name] = note


def test_each_scratch_database_is_claimed_before_it_exists_and_marked_as_a_drills():
    world = RestoreWorld(restorer_broken={"drop_database": RestoreError("database is in use")})
    run(world, databases=("hr",))
    scratch = "lts_drill_20261229220000_1"
    assert world.restorer.claims == [scratch]
    assert world.restorer.notes == {scratch: SCRATCH_NOTE}
    assert world.restorer.claimed == set(), "the claim ends with the drill, dropped or not"


def test_a_scratch_name_another_live_drill_claims_is_refused_and_left_to_that_drill():
    world = RestoreWorld()
    world.restorer.claimed.add("lts_drill_20261229220000_1")
    results = run(world, databases=("hr",))
    assert order(results) == CREATE_FAILED
    assert failed(results) == [
        (
            "create_scratch",
            "acme hr lts_drill_20261229220000_1 on drill.test:5432: another drill that still "
            "runs claims this scratch database; it was not touched",
        )
    ]
    assert world.restorer.created == {}
    assert world.restorer.dropped == []
    assert world.restorer.claimed == {"lts_drill_20261229220000_1"}, "still the other drill's"
    assert world.files.files == {}
    assert entries(world)[0]["result"] == "failed"


def test_an_existing_database_of_the_scratch_name_is_let_go_of_at_once():
    world = RestoreWorld(objects={"lts_drill_20261229220000_1": 4})
    run(world, databases=("hr",))
    assert world.restorer.claims == ["lts_drill_20261229220000_1"]
    assert world.restorer.claimed == set()
    assert world.restorer.notes == {}


def test_a_scratch_database_that_cannot_be_marked_is_dropped_before_anything_goes_in():
    world = RestoreWorld(restorer_broken={"mark_database": RestoreError("permission denied")})
    results = run(world, databases=("hr",))
    assert order(results) == CREATE_FAILED
    assert failed(results) == [("create_scratch", "acme hr permission denied")]
    assert world.restorer.restored == {}
    assert world.restorer.dropped == ["lts_drill_20261229220000_1"]
    assert world.restorer.objects == {}
    assert world.restorer.claimed == set()


def test_a_scratch_database_that_cannot_be_created_lets_go_of_its_claim():
    world = RestoreWorld(restorer_broken={"create_database": RestoreError("disk full")})
    results = run(world, databases=("hr",))
    assert order(results) == CREATE_FAILED
    assert failed(results) == [("create_scratch", "acme hr disk full")]
    assert world.restorer.claims == ["lts_drill_20261229220000_1"]
    assert world.restorer.claimed == set()
    assert world.files.files == {}


def test_scratch_databases_that_ended_drills_left_are_dropped_before_drilling(caplog):
    world = RestoreWorld()
    left_behind(world, "lts_drill_20261201100000_1")
    left_behind(world, "lts_drill_20261201100000_2", note=None, objects=0)  # killed before marked
    results = run(world, databases=("hr",))
    assert order(results)[len(MOUNT) + len(KEY) : len(MOUNT) + len(KEY) + 4] == [
        "find_run",
        "inspect_target",
        "drop_abandoned_scratch",
        "decrypt_dump",
    ]
    assert all(r.ok for r in results), failed(results)
    assert world.restorer.dropped[:2] == [
        "lts_drill_20261201100000_1",
        "lts_drill_20261201100000_2",
    ]
    assert world.restorer.objects == {}
    assert "dropped the scratch database lts_drill_20261201100000_1 that a drill no longer" in (
        caplog.text
    )


def test_claimed_scratch_databases_and_databases_a_drill_did_not_make_are_never_touched():
    world = RestoreWorld()
    left_behind(world, "lts_drill_20261201100000_1")
    world.restorer.claimed.add("lts_drill_20261201100000_1")  # a drill that still runs
    left_behind(world, "lts_drill_20261201100000_2", note=None)  # holds objects, no mark
    left_behind(world, "lts_drill_20261201100000_3", note="someone's own comment", objects=0)
    left_behind(world, "lts_drill_20261201100000_4", note=SCRATCH_NOTE + " ", objects=0)
    left_behind(world, "sales", objects=9)  # not a scratch name
    results = run(world, databases=("hr",))
    assert all(r.ok for r in results), failed(results)
    assert world.restorer.dropped == ["lts_drill_20261229220000_1"]
    assert set(world.restorer.objects) == {
        "lts_drill_20261201100000_1",
        "lts_drill_20261201100000_2",
        "lts_drill_20261201100000_3",
        "lts_drill_20261201100000_4",
        "sales",
    }


def test_which_scratch_databases_are_abandoned_is_decided_by_claim_mark_and_emptiness():
    def found(note, claimed, objects):
        return ScratchDatabase("lts_drill_20261201100000_1", note, claimed, objects)

    assert abandoned([found(SCRATCH_NOTE, False, None)]) != [], "marked: objects need no count"
    assert abandoned([found(SCRATCH_NOTE, False, 12)]) != []
    assert abandoned([found(None, False, 0)]) != [], "killed between creating and marking"
    assert abandoned([found(None, False, None)]) == [], "could not be counted: not known empty"
    assert abandoned([found(None, False, 1)]) == []
    assert abandoned([found(SCRATCH_NOTE, True, None)]) == []
    assert abandoned([found(None, True, 0)]) == []
    assert abandoned([found("other", False, 0)]) == []


def test_a_scratch_database_of_an_ended_drill_that_cannot_be_dropped_is_one_failure():
    world = RestoreWorld(restorer_broken={"drop_database": RestoreError("must be owner")})
    left_behind(world, "lts_drill_20261201100000_1")
    results = run(world, databases=("hr",))
    assert failed(results)[0] == (
        "drop_abandoned_scratch",
        "acme cannot drop the scratch databases that ended drills left: "
        "lts_drill_20261201100000_1 (must be owner); drop them by hand",
    )
    assert "decrypt_dump" in order(results), "the drill goes on"


def test_scratch_databases_that_cannot_be_listed_are_one_failure_and_the_drill_goes_on():
    world = RestoreWorld(restorer_broken={"scratch_databases": RestoreError("permission denied")})
    results = run(world, databases=("hr",))
    assert failed(results) == [("drop_abandoned_scratch", "acme permission denied")]
    assert entries(world)[0]["result"] == "ok"


def test_a_scratch_database_that_cannot_be_claimed_is_never_created():
    world = RestoreWorld(restorer_broken={"claim_scratch": RestoreError("too many connections")})
    results = run(world, databases=("hr",))
    assert order(results) == CREATE_FAILED
    assert failed(results) == [("create_scratch", "acme hr too many connections")]
    assert "lts_drill_20261229220000_1" not in world.restorer.created
    asked = [t.database for t in world.restorer.targets]
    assert asked.count("lts_drill_20261229220000_1") == 1, "the claim comes before anything else"
    assert world.files.files == {}
