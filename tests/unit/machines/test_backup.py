"""BackupClientMachine and BackupDatabaseMachine with in-memory adapters: every edge."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath

import pytest

from adapters.memory.decompressor import FRAME
from adapters.memory.encryptor import InMemoryEncryptor
from adapters.memory.file_share import InMemoryFileShare
from adapters.memory.postgres import InMemoryDumper, InMemoryDumpTool
from domain.services.share_lock import SHARE_LOCK_FILE
from ports.errors import DatabaseError, ShareFullError
from tests.support.memory_world import PG_SECRET, World, client_values

MOUNT = ["read_config", "take_lock", "open_share", "mount_share"]
PREPARE = [
    "take_share_lock",
    "start_run",
    "load_key",
    "load_signing_key",
    "inspect_server",
    "discover_databases",
    "find_previous_run",
    "dump_globals",
]
DB = ["dump_database", "record_counts", "check_dump", "compare_with_previous"]
RETENTION = ["check_policy", "survey_runs", "delete_runs", "report_kept_runs"]
TAIL = [
    "dispose_key",
    *RETENTION,
    "end_of_month_retention",
    *RETENTION,
    "end_of_year_retention",
    "release_share_lock",
]
FINISH = ["dump_databases", "write_manifest", "sign_manifest", "publish_run", *TAIL]
UNMOUNT = ["run_machine", "unmount_share", "release_lock"]
RUN = PurePosixPath("end-of-month/2026-11/20261128T220000Z")


def nodes(world):
    return [line for line in world.console.lines if line.startswith("Failure: ")]


def run(world):
    results = world.mount_machine().execute()
    return results


def manifest(world, run_dir=RUN):
    return json.loads(world.share.files[run_dir / "manifest.json"])


def test_a_clean_backup_stores_every_database_largest_first_and_publishes_the_run():
    world = World()
    results = run(world)
    assert [r.node for r in results] == [*MOUNT, *PREPARE, *DB * 3, *FINISH, *UNMOUNT]
    assert all(r.ok for r in results)
    assert world.dumper.dumped == ["sales", "crm", "hr"]
    assert world.share.names() == sorted(
        f"{RUN}/{name}"
        for name in [
            "manifest.json",
            "SHA256SUMS",
            "RESTORE.txt",
            "globals.sql.gpg",
            "sales.dump.gpg",
            "crm.dump.gpg",
            "hr.dump.gpg",
        ]
    )
    stored = world.share.files[RUN / "sales.dump.gpg"]
    assert InMemoryEncryptor.decrypt(stored).startswith(b"PGDMPsales")
    assert world.encryptor.disposed
    assert not world.share.exists(SHARE_LOCK_FILE)


def test_the_manifest_describes_the_run_and_every_database():
    world = World()
    run(world)
    data = manifest(world)
    assert data["client"] == "acme"
    assert data["run_id"] == "20261128T220000Z"
    assert (data["tier"], data["period"], data["eoy_month"]) == ("end-of-month", "2026-11", 6)
    assert data["key_fingerprint"] == "F" * 40
    assert [d["name"] for d in data["databases"]] == ["sales", "crm", "hr"]
    for entry in data["databases"]:
        content = world.share.files[RUN / entry["file"]]
        assert entry["bytes"] == len(content)
        assert entry["status"] == "ok"
    assert data["globals"]["status"] == "ok"
    sums = world.share.files[RUN / "SHA256SUMS"].decode()
    assert "  sales.dump.gpg\n" in sums
    assert "  globals.sql.gpg\n" in sums
    restore = world.share.files[RUN / "RESTORE.txt"].decode()
    assert "gpg --decrypt sales.dump.gpg | pg_restore --create --dbname=postgres\n" in restore
    assert "gpg --decrypt globals.sql.gpg | psql -d postgres" in restore


def test_the_end_of_year_month_files_the_run_under_its_fiscal_year():
    world = World(eoy_month=11)
    run(world)
    assert manifest(world, PurePosixPath("end-of-year/FY2026/20261128T220000Z"))["tier"] == (
        "end-of-year"
    )


def test_the_period_offset_files_a_run_under_the_previous_month():
    world = World(
        now=datetime(2026, 12, 1, 2, 0, tzinfo=UTC), policy_overrides={"period_offset_months": 1}
    )
    run(world)
    assert world.share.exists(PurePosixPath("end-of-month/2026-11/20261201T020000Z"))


def test_excluded_databases_are_not_dumped():
    world = World(values=client_values(**{"exclude-databases": "scratch, hr"}))
    run(world)
    assert sorted(world.dumper.dumped) == ["crm", "sales"]


def test_every_dump_is_told_how_many_databases_the_run_dumps():
    """So that a run of fewer databases than the pool gives zstd the idle workers' CPUs."""
    world = World(values=client_values(**{"exclude-databases": "scratch, hr"}))
    run(world)
    assert world.dumper.databases_in_run == [2, 2]


def test_one_failing_database_is_one_failure_and_the_others_are_stored():
    world = World(dumper=InMemoryDumper(broken={"crm": "FATAL: permission denied"}))
    results = run(world)
    failures = [r for r in results if not r.ok]
    assert [(f.node, f.message) for f in failures] == [
        ("dump_database", "acme db.acme.test crm pg_dump failed: FATAL: permission denied"),
    ]
    assert [r.node for r in results] == [
        *MOUNT,
        *PREPARE,
        *DB,
        "dump_database",
        *DB,
        *FINISH,
        *UNMOUNT,
    ]
    data = manifest(world)
    statuses = {d["name"]: (d["status"], d["error"]) for d in data["databases"]}
    assert statuses["crm"] == ("failed", "pg_dump failed: FATAL: permission denied")
    assert statuses["sales"][0] == statuses["hr"][0] == "ok"
    assert not world.share.exists(RUN / "crm.dump.gpg")


def test_the_end_point_prints_one_failure_line_and_exits_one():
    world = World(dumper=InMemoryDumper(broken={"crm": "FATAL: permission denied"}))
    world.run_end_point()
    assert nodes(world) == [
        "Failure: dump_database acme db.acme.test crm pg_dump failed: FATAL: permission denied"
    ]
    assert world.exit.code == 1
    assert world.console.lines[-1].startswith("backup acme: 2 of 3 databases ok, run ")


def test_a_near_empty_dump_is_a_failure_with_no_file_published_as_ok():
    world = World(dumper=InMemoryDumper(tiny={"hr"}), policy_overrides={"min_dump_bytes": 10})
    results = run(world)
    failed = [r for r in results if not r.ok]
    assert [(f.node, f.message) for f in failed] == [
        (
            "check_dump",
            "acme db.acme.test hr dump is only 9 bytes; an empty or near-empty dump is unusable",
        )
    ]
    assert {d["name"]: d["status"] for d in manifest(world)["databases"]}["hr"] == "failed"


def test_a_dump_that_writes_nothing_is_a_failure_and_stores_no_file():
    world = World(dumper=InMemoryDumper(empty={"hr"}))
    results = run(world)
    failed = [r for r in results if not r.ok]
    assert [(f.node, f.message) for f in failed] == [
        ("dump_database", "acme db.acme.test hr pg_dump produced no output")
    ]
    assert not any(name.endswith("hr.dump.gpg") for name in world.share.names())
    assert {d["name"]: d["status"] for d in manifest(world)["databases"]}["hr"] == "failed"


def test_a_dump_much_smaller_than_the_previous_one_is_reported_but_kept():
    world = World(policy_overrides={"min_dump_bytes": 1})
    run(world)
    world.clock.advance(timedelta(days=31))
    world.dumper.chunks = 1
    results = run(world)
    failed = [r for r in results if not r.ok]
    assert [f.node for f in failed] == ["compare_with_previous"] * 3
    assert "less than 50% of the previous dump" in failed[0].message
    assert all(
        d["status"] == "ok"
        for d in manifest(world, PurePosixPath("end-of-month/2026-12/20261229T220000Z"))[
            "databases"
        ]
    )


def test_a_key_that_does_not_match_key_name_stops_before_any_dump():
    world = World(encryptor=InMemoryEncryptor(key_names={"globex"}))
    results = run(world)
    assert [r.node for r in results] == [
        *MOUNT,
        "take_share_lock",
        "start_run",
        "load_key",
        "discard_run",
        *TAIL,
        *UNMOUNT,
    ]
    assert results[6].message == ("acme db.acme.test the public key does not match key-name 'acme'")
    assert world.dumper.dumped == []
    assert world.share.files == {}


def test_an_unreachable_server_is_one_failure_and_leaves_no_run_behind():
    world = World(database_error=DatabaseError("cannot connect to db.acme.test:5432"))
    results = run(world)
    assert [r.node for r in results if not r.ok] == ["inspect_server"]
    assert world.share.files == {}
    assert not any(str(d).endswith(".partial") for d in world.share.dirs)


def test_a_pg_dump_older_than_the_server_is_refused_before_any_dump():
    world = World(dumper=InMemoryDumper(too_old=True))
    results = run(world)
    assert [r.node for r in results if not r.ok] == ["inspect_server"]
    assert "older than the server" in next(r for r in results if not r.ok).message
    assert world.dumper.dumped == []


def test_a_globals_failure_is_reported_and_the_databases_are_still_dumped():
    world = World(dumper=InMemoryDumper(globals_error="role lookup failed"))
    results = run(world)
    assert [r.node for r in results if not r.ok] == ["dump_globals"]
    assert manifest(world)["globals"]["status"] == "failed"
    assert len(world.dumper.dumped) == 3


def test_a_full_share_fails_each_database_and_publishes_nothing():
    world = World(
        share=InMemoryFileShare(fail_writes_after=2, error=ShareFullError("no space left on share"))
    )
    results = run(world)
    failed = [(r.node, r.message) for r in results if not r.ok]
    assert failed[:3] == [
        ("dump_database", f"acme db.acme.test {db} no space left on share")
        for db in ["sales", "crm", "hr"]
    ]
    assert failed[3] == ("write_manifest", "acme db.acme.test no space left on share")
    assert world.share.files == {}
    assert not any(str(d).endswith(".partial") for d in world.share.dirs)


def test_an_encryption_failure_fails_that_database():
    world = World(encryptor=InMemoryEncryptor(fail=True))
    results = run(world)
    assert [r.node for r in results if not r.ok] == ["dump_globals"] + ["dump_database"] * 3


def test_a_live_share_lock_refuses_the_run_without_touching_anything():
    world = World()
    marker = {"owner": "host other pid 9", "since": "2026-11-28T21:00:00+00:00"}
    world.share.files[SHARE_LOCK_FILE] = json.dumps(marker).encode()
    results = run(world)
    assert [r.node for r in results] == [*MOUNT, "take_share_lock", *UNMOUNT]
    assert results[4].message == (
        "acme db.acme.test another run for acme is in progress (host other pid 9, "
        "since 2026-11-28T21:00:00+00:00) according to the share lock"
    )
    assert world.share.files[SHARE_LOCK_FILE] == json.dumps(marker).encode()


@pytest.mark.parametrize(
    "content",
    [
        json.dumps({"owner": "host old pid 1", "since": "2026-11-01T00:00:00+00:00"}).encode(),
        b"not json",
    ],
)
def test_a_stale_or_damaged_share_lock_is_taken_over_and_reported(content):
    world = World()
    world.share.files[SHARE_LOCK_FILE] = content
    results = run(world)
    failed = [r for r in results if not r.ok]
    assert [f.node for f in failed] == ["take_share_lock"]
    assert "took over a stale share lock" in failed[0].message
    assert world.share.exists(RUN / "manifest.json")
    assert not world.share.exists(SHARE_LOCK_FILE)


def test_a_second_run_in_the_same_period_is_a_run_of_its_own():
    world = World()
    run(world)
    world.clock.advance(timedelta(hours=1))
    run(world)
    assert [e.name for e in world.share.list_dir(PurePosixPath("end-of-month/2026-11"))] == [
        "20261128T220000Z",
        "20261128T230000Z",
    ]


def test_the_password_never_reaches_stdout_or_failure_lines():
    world = World(dumper=InMemoryDumper(broken={"crm": f"auth failed for {PG_SECRET}"}))
    world.run_end_point()
    assert PG_SECRET not in "\n".join(world.console.lines)
    assert "auth failed for *****" in "\n".join(world.console.lines)


def test_a_database_machine_that_breaks_is_recorded_as_failed_in_the_manifest():
    class ExplodingTool(InMemoryDumpTool):
        def dump(self, target, database, **options):
            if database == "hr":
                raise RuntimeError("unexpected")
            return super().dump(target, database, **options)

    class Exploding(InMemoryDumper):
        def select(self, server):
            return ExplodingTool(self, super().select(server).info)

    world = World(dumper=Exploding())
    results = run(world)
    assert [(r.node, r.message) for r in results if not r.ok] == [
        ("dump_database", "acme db.acme.test hr unrecognized exception: unexpected")
    ]
    assert {d["name"]: d["status"] for d in manifest(world)["databases"]}["hr"] == "failed"


RUN_UP_TO_DISCOVERY = [
    *MOUNT,
    "take_share_lock",
    "start_run",
    "load_key",
    "load_signing_key",
    "inspect_server",
    "discover_databases",
]
CLEANUP = ["discard_run", *TAIL, *UNMOUNT]


def failed_nodes(results):
    return [(i, r.node) for i, r in enumerate(results) if not r.ok]


def test_a_failure_to_create_the_run_directory_releases_the_share_lock():
    world = World(share=InMemoryFileShare(broken={"make_dirs": ShareFullError("disk full")}))
    results = run(world)
    assert [r.node for r in results] == [
        *MOUNT,
        "take_share_lock",
        "start_run",
        "release_share_lock",
        *UNMOUNT,
    ]
    assert failed_nodes(results) == [(5, "start_run")]
    assert world.share.files == {}


def test_a_failing_database_listing_is_one_failure_and_discards_the_run():
    from adapters.memory.postgres import InMemoryDatabase

    world = World()
    world.database = InMemoryDatabase(world.sizes, list_error=DatabaseError("permission denied"))
    results = run(world)
    assert [r.node for r in results] == [*RUN_UP_TO_DISCOVERY, *CLEANUP]
    assert failed_nodes(results) == [(9, "discover_databases")]
    assert results[9].message == "acme db.acme.test permission denied"
    assert world.share.files == {}


def test_an_unreadable_previous_manifest_is_reported_and_the_backup_goes_on():
    world = World()
    world.share.make_dirs(PurePosixPath("end-of-month/2026-10/20261031T220000Z"))
    world.share.files[PurePosixPath("end-of-month/2026-10/20261031T220000Z/manifest.json")] = (
        b"{broken"
    )
    results = run(world)
    assert [r.node for r in results if not r.ok] == ["find_previous_run"]
    assert "cannot compare with the previous run" in next(r for r in results if not r.ok).message
    assert world.share.exists(RUN / "manifest.json")


def test_a_failed_publish_discards_the_partial_run():
    world = World(share=InMemoryFileShare(broken={"rename": ShareFullError("rename refused")}))
    results = run(world)
    assert [r.node for r in results if not r.ok] == ["publish_run"]
    nodes_run = [r.node for r in results]
    assert nodes_run[nodes_run.index("publish_run") :] == ["publish_run", *CLEANUP]
    assert world.share.files == {}


def test_a_failed_discard_still_disposes_the_key_and_releases_the_share_lock():
    share = InMemoryFileShare(
        broken={
            "rename": ShareFullError("rename refused"),
            "delete_tree": ShareFullError("delete refused"),
        }
    )
    world = World(share=share)
    results = run(world)
    assert [r.node for r in results if not r.ok] == ["publish_run", "discard_run"]
    assert world.encryptor.disposed
    assert not world.share.exists(SHARE_LOCK_FILE)


def test_a_failed_key_disposal_is_reported_and_the_share_lock_still_released():
    world = World(encryptor=InMemoryEncryptor(close_error=OSError("busy")))
    results = run(world)
    assert [(r.node, r.message) for r in results if not r.ok] == [
        ("dispose_key", "acme db.acme.test unrecognized exception: busy")
    ]
    assert not world.share.exists(SHARE_LOCK_FILE)
    assert world.share.exists(RUN / "manifest.json")


def test_a_failed_share_lock_release_is_reported_after_the_run_is_published():
    world = World(share=InMemoryFileShare(broken={"delete_file": ShareFullError("share gone")}))
    results = run(world)
    assert [r.node for r in results if not r.ok] == ["release_share_lock"]
    assert world.share.exists(RUN / "manifest.json")


def test_a_server_with_no_databases_still_publishes_a_run_with_globals():
    world = World(sizes={})
    results = run(world)
    assert all(r.ok for r in results)
    assert manifest(world)["databases"] == []
    assert world.share.exists(RUN / "globals.sql.gpg")


def test_the_escrow_key_is_recorded_in_the_manifest():
    world = World(values=client_values(**{"escrow-public-key": "ZXNjcm93"}))
    run(world)
    assert manifest(world)["escrow_fingerprint"] == "E" * 40


def test_the_failure_of_each_database_lands_at_its_position_in_the_largest_first_order():
    world = World(dumper=InMemoryDumper(broken={"hr": "x", "sales": "y"}))
    results = run(world)
    start = len(MOUNT) + len(PREPARE)
    assert failed_nodes(results) == [(start, "dump_database"), (start + 5, "dump_database")]
    assert len(results) == len(MOUNT) + len(PREPARE) + 1 + 4 + 1 + len(FINISH) + len(UNMOUNT)


def test_a_run_in_the_same_second_as_leftover_debris_gets_the_next_free_run_id():
    world = World()
    world.share.make_dirs(PurePosixPath("end-of-month/2026-11/20261128T220000Z.partial"))
    world.share.write_stream(
        PurePosixPath("end-of-month/2026-11/20261128T220000Z.partial/globals.sql.gpg"), [b"old"]
    )
    results = run(world)
    assert all(r.ok for r in results)
    data = manifest(world, PurePosixPath("end-of-month/2026-11/20261128T220001Z"))
    assert data["run_id"] == "20261128T220001Z"
    assert data["started"].startswith("2026-11-28T22:00:00")


# ---------------------------------------------------------------------- zstd


def test_a_zstd_backup_stores_zst_files_and_records_each_files_compression():
    world = World(dumper=InMemoryDumper(compression="zstd:3"))
    results = run(world)
    assert all(r.ok for r in results)
    assert world.share.names() == sorted(
        f"{RUN}/{name}"
        for name in [
            "manifest.json",
            "SHA256SUMS",
            "RESTORE.txt",
            "globals.sql.zst.gpg",
            "sales.dump.zst.gpg",
            "crm.dump.zst.gpg",
            "hr.dump.zst.gpg",
        ]
    )
    stored = InMemoryEncryptor.decrypt(world.share.files[RUN / "sales.dump.zst.gpg"])
    assert stored.startswith(FRAME + b"PGDMPsales")
    data = manifest(world)
    assert data["compression"] == "zstd:3"
    assert [(d["file"], d["compression"]) for d in data["databases"]] == [
        ("sales.dump.zst.gpg", "zstd:3"),
        ("crm.dump.zst.gpg", "zstd:3"),
        ("hr.dump.zst.gpg", "zstd:3"),
    ]
    assert (data["globals"]["file"], data["globals"]["compression"]) == (
        "globals.sql.zst.gpg",
        "zstd:3",
    )
    sums = world.share.files[RUN / "SHA256SUMS"].decode()
    assert "  sales.dump.zst.gpg\n" in sums
    assert "  globals.sql.zst.gpg\n" in sums
    restore = world.share.files[RUN / "RESTORE.txt"].decode()
    assert "gpg --decrypt sales.dump.zst.gpg | zstd -d | pg_restore --create --dbname=postgres" in (
        restore
    )
    assert "gpg --decrypt globals.sql.zst.gpg | zstd -d | psql -d postgres" in restore


def test_pg_dumps_own_compression_is_recorded_and_the_globals_are_stored_as_they_are():
    world = World(dumper=InMemoryDumper(compression="gzip:6"))
    run(world)
    data = manifest(world)
    assert {d["compression"] for d in data["databases"]} == {"gzip:6"}
    assert (data["globals"]["file"], data["globals"]["compression"]) == ("globals.sql.gpg", "none")


def test_a_failed_zstd_dump_is_recorded_under_its_zst_name_and_nothing_is_stored():
    world = World(dumper=InMemoryDumper(compression="zstd:1", broken={"crm": "server closed"}))
    results = run(world)
    assert [r.node for r in results if not r.ok] == ["dump_database"]
    entry = next(d for d in manifest(world)["databases"] if d["name"] == "crm")
    assert (entry["file"], entry["status"], entry["compression"]) == (
        "crm.dump.zst.gpg",
        "failed",
        "zstd:1",
    )
    assert not world.share.exists(RUN / "crm.dump.zst.gpg")


# ---------------------------------------------------------------- signed runs (SPEC 14)


def test_a_signed_run_carries_a_detached_signature_of_its_manifest_and_names_the_signer():
    from adapters.memory.signer import SIGNING_FINGERPRINT, InMemorySignatureChecker, InMemorySigner

    world = World(signer=InMemorySigner())
    results = run(world)
    assert all(r.ok for r in results)
    data = manifest(world)
    assert data["signing_fingerprint"] == SIGNING_FINGERPRINT
    signature = world.share.files[RUN / "manifest.json.asc"]
    trusted = InMemorySignatureChecker().load()
    assert trusted.check(world.share.files[RUN / "manifest.json"], signature).good
    assert b"gpg --verify manifest.json.asc manifest.json" in world.share.files[RUN / "RESTORE.txt"]
    assert world.signer is not None
    assert world.signer.open == []


def test_an_unsigned_run_has_no_signature_and_names_no_signer():
    world = World()
    run(world)
    assert manifest(world)["signing_fingerprint"] is None
    assert not world.share.exists(RUN / "manifest.json.asc")
    assert b"gpg --verify" not in world.share.files[RUN / "RESTORE.txt"]


def test_a_signing_key_that_cannot_be_loaded_is_reported_and_the_run_is_still_taken_unsigned():
    from adapters.memory.signer import InMemorySigner
    from ports.errors import SigningError

    error = SigningError("[signing] key_file /etc/lts/signing.asc is open to group or others")
    world = World(signer=InMemorySigner(error=error))
    results = run(world)
    assert [(r.node, r.message) for r in results if not r.ok] == [
        ("load_signing_key", f"acme db.acme.test {error}")
    ]
    assert [r.node for r in results] == [*MOUNT, *PREPARE, *DB * 3, *FINISH, *UNMOUNT]
    assert manifest(world)["signing_fingerprint"] is None
    assert not world.share.exists(RUN / "manifest.json.asc")
    assert len(manifest(world)["databases"]) == 3


def test_a_signature_that_cannot_be_made_is_reported_and_the_run_is_published_naming_its_signer():
    from adapters.memory.signer import InMemorySigner
    from ports.errors import SigningError

    world = World(signer=InMemorySigner(sign_error=SigningError("gpg failed to sign (exit 2)")))
    results = run(world)
    assert [(r.node, r.message) for r in results if not r.ok] == [
        ("sign_manifest", "acme db.acme.test gpg failed to sign (exit 2)")
    ]
    assert world.share.exists(RUN / "manifest.json")
    assert not world.share.exists(RUN / "manifest.json.asc")
    assert manifest(world)["signing_fingerprint"] == "5" * 40
    assert world.signer is not None
    assert world.signer.open == []


# ---------------------------------------------------------------------- what each dump held


def test_the_manifest_records_each_dumps_toc_counts_and_row_counts():
    world = World(dumper=InMemoryDumper(tables={"hr": {"public.staff": 4}}))
    results = run(world)
    assert all(r.ok for r in results)
    records = {d["name"]: d for d in manifest(world)["databases"]}
    assert records["hr"]["toc_entries"] == 3
    assert records["hr"]["table_data_entries"] == 1
    assert records["hr"]["large_objects"] == 0
    assert records["hr"]["tables"] == [{"schema": "public", "table": "staff", "rows": 4}]
    assert [t["table"] for t in records["sales"]["tables"]] == ["t1", "t2", "t3"]
    assert world.dumper.open_dumps == []


def test_counting_that_fails_keeps_the_dump_and_is_one_failure():
    world = World(dumper=InMemoryDumper(count_errors={"crm": "permission denied for table x"}))
    results = run(world)
    assert [(r.node, r.message) for r in results if not r.ok] == [
        (
            "record_counts",
            "acme db.acme.test crm the dump is kept, but its row counts were not recorded (a "
            "drill cannot compare them): permission denied for table x",
        )
    ]
    crm = next(d for d in manifest(world)["databases"] if d["name"] == "crm")
    assert (crm["status"], crm["tables"], crm["toc_entries"]) == ("ok", None, 3)
    assert world.dumper.open_dumps == []


def test_a_snapshot_that_cannot_be_exported_fails_the_database_and_keeps_the_others():
    world = World(dumper=InMemoryDumper(snapshot_errors={"hr": "x"}))
    results = run(world)
    assert [r.node for r in results if not r.ok] == ["dump_database"]
    hr = next(d for d in manifest(world)["databases"] if d["name"] == "hr")
    assert hr["status"] == "failed"
    assert hr["error"].startswith("cannot export a snapshot of hr")
    assert "hr" not in world.dumper.dumped


def test_a_failed_dump_closes_its_snapshot():
    world = World(dumper=InMemoryDumper(broken={"sales": "connection reset"}))
    run(world)
    assert world.dumper.open_dumps == []


def test_a_zstd_backup_records_what_each_archive_held_beside_its_compression():
    world = World(dumper=InMemoryDumper(compression="zstd:1", tables={"hr": {"public.staff": 4}}))
    results = run(world)
    assert all(r.ok for r in results)
    hr = next(d for d in manifest(world)["databases"] if d["name"] == "hr")
    assert (hr["file"], hr["compression"]) == ("hr.dump.zst.gpg", "zstd:1")
    assert (hr["toc_entries"], hr["table_data_entries"]) == (3, 1)
    assert hr["tables"] == [{"schema": "public", "table": "staff", "rows": 4}]
    assert world.dumper.open_dumps == []


def test_a_failed_zstd_snapshot_is_recorded_under_its_zst_name_with_its_compression():
    world = World(dumper=InMemoryDumper(compression="zstd:1", snapshot_errors={"hr": "x"}))
    results = run(world)
    assert [r.node for r in results if not r.ok] == ["dump_database"]
    hr = next(d for d in manifest(world)["databases"] if d["name"] == "hr")
    assert (hr["file"], hr["status"], hr["compression"]) == ("hr.dump.zst.gpg", "failed", "zstd:1")
