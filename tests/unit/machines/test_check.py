"""CheckClientMachine and its children (keys, freshness) with in-memory adapters: every edge."""

from datetime import timedelta
from pathlib import PurePosixPath

from adapters.memory.decryptor import InMemoryDecryptor
from adapters.memory.encryptor import InMemoryEncryptor
from adapters.memory.file_share import InMemoryFileShare
from adapters.memory.postgres import InMemoryDatabase, InMemoryDumper
from domain.machines.check import CheckClientMachine
from domain.machines.freshness import MonthFreshnessMachine, MonthRun
from domain.models.run import RunId, StoredRun, Tier
from domain.rules.freshness import Month
from ports.errors import (
    ConfigSourceError,
    DatabaseError,
    DumpError,
    EncryptionError,
    ShareUnavailableError,
)
from tests.support.memory_world import PG_SECRET, client_values
from tests.support.operations_world import NOW, PROBE, CheckWorld
from tests.support.restore_world import PASSPHRASE, restore_values
from tests.support.seeding import at, seed_run

MOUNT = ["read_config", "take_lock", "open_share", "mount_share"]
CONFIG = ["check_retention", "check_zstd"]
SERVER = [
    "connect_server",
    *["find_unreadable"] * 2,
    "check_privileges",
    "check_pg_dump",
    *["probe_dump"] * 2,
    "probe_dumps",
]
KEYS = [
    "load_public_key",
    "check_key_expiry",
    "read_restore_config",
    "check_backup_config_host",
    "load_key",
    "load_private_key",
    "decrypt_sample",
    "dispose_private_key",
    "dispose_public_key",
    "check_keys",
    "check_signing_key",
]
KEYS_WITHOUT_RESTORE = ["load_public_key", "check_key_expiry", "load_private_key"]
SHARE = ["probe_share", "remove_probe"]
END = [
    "survey_runs",
    "check_freshness",
    "check_drills",
    "run_machine",
    "unmount_share",
    "release_lock",
]
CLEAN = [*MOUNT, *CONFIG, *SERVER, *KEYS, *SHARE, *END]


def run(world):
    return world.mount_machine().execute()


def months(world):
    return world.machine.freshness.months


def nodes(results):
    return [r.node for r in results]


def failed(results):
    return [(r.node, r.message) for r in results if not r.ok]


def seed_months(share, months, eoy_month=6, **kwargs):
    for year, month in months:
        seed_run(share, at(year, month), eoy_month=eoy_month, **kwargs)


# ---------------------------------------------------------------------- the clean path


def test_a_ready_client_passes_every_check_in_order():
    world = CheckWorld()
    results = run(world)
    assert nodes(results) == CLEAN
    assert all(r.ok for r in results)
    assert world.encryptor.disposed
    assert world.decryptor.disposals == 1
    assert not world.share.mounted
    assert world.share.names() == []
    assert world.share.deleted == [PROBE_RENAMED]


PROBE_RENAMED = PurePosixPath(f"{PROBE}.renamed")


def test_the_end_point_prints_nothing_but_the_summary_and_exits_zero():
    world = CheckWorld()
    world.run_end_point()
    assert world.exit.code == 0
    assert world.console.lines == ["check acme: ready, 0 months of runs checked"]


def test_without_a_restore_vault_the_private_key_is_not_checked():
    world = CheckWorld(restore=None)
    results = run(world)
    assert nodes(results) == [
        *MOUNT,
        *CONFIG,
        *SERVER,
        *KEYS_WITHOUT_RESTORE,
        "dispose_public_key",
        "check_keys",
        "check_signing_key",
        *SHARE,
        *END,
    ]
    assert all(r.ok for r in results)
    assert world.decryptor.disposals == 0


# ---------------------------------------------------------------------- config and retention


def test_an_invalid_config_is_one_failure_and_nothing_else_is_checked():
    world = CheckWorld(values=client_values(**{"postgresql-host": None, "key-name": ""}))
    results = run(world)
    assert nodes(results) == ["read_config"]
    assert failed(results) == [
        (
            "read_config",
            "acme invalid client config: postgresql-host is missing; key-name: String should "
            "have at least 1 character",
        )
    ]
    assert world.share.mounts == 0


def test_an_unreadable_config_source_is_one_failure():
    world = CheckWorld(source_error=ConfigSourceError("config file /x.toml does not exist"))
    results = run(world)
    assert failed(results) == [("read_config", "acme config file /x.toml does not exist")]


def test_retention_below_one_day_is_a_failure_and_the_rest_is_checked():
    world = CheckWorld(values=client_values(**{"end-of-month-retention": "0"}))
    results = run(world)
    assert nodes(results) == CLEAN
    assert failed(results) == [
        (
            "check_retention",
            "acme retention is not sane: end-of-month-retention is 0 days; it must be at least 1",
        )
    ]


def test_a_year_end_retention_shorter_than_the_monthly_one_is_a_failure():
    world = CheckWorld(values=client_values(**{"end-of-year-retention": "100"}))
    results = run(world)
    assert [node for node, _ in failed(results)] == ["check_retention"]
    assert "shorter than end-of-month-retention (400 days)" in failed(results)[0][1]


NO_ZSTD = DumpError("compression zstd:1 needs zstd: cannot run zstd: No such file or directory")


def test_a_host_without_zstd_is_one_failure_and_the_rest_is_checked():
    world = CheckWorld(dumper=InMemoryDumper(select_error=NO_ZSTD))
    world.decompressor.missing = True
    results = run(world)
    # pg_dump (with zstd, the dump tool) is not selected: there is nothing to probe schemas with.
    assert nodes(results) == [*MOUNT, *CONFIG, *SERVER[:5], *KEYS, *SHARE, *END]
    [(node, message)] = failed(results)
    assert node == "check_zstd"
    assert message.startswith("acme cannot run zstd: No such file or directory")
    assert "install it (Debian package zstd)" in message


def test_without_zstd_pg_dump_is_still_checked_when_pg_dump_compresses_itself():
    error = DumpError("pg_dump 15.4 does not accept --compress=lz4")
    world = CheckWorld(dumper=InMemoryDumper(select_error=error), compression="gzip:6")
    world.decompressor.missing = True
    results = run(world)
    assert [node for node, _ in failed(results)] == ["check_zstd", "check_pg_dump"]


# ---------------------------------------------------------------------- server


def test_an_unreachable_server_is_one_failure_and_the_server_checks_are_skipped():
    error = DatabaseError("cannot connect to db.acme.test:5432 as backup: timeout")
    world = CheckWorld(database=InMemoryDatabase({}, error=error))
    results = run(world)
    assert nodes(results) == [*MOUNT, *CONFIG, "connect_server", *KEYS, *SHARE, *END]
    assert failed(results) == [("connect_server", f"acme {error}")]


def test_each_unreadable_object_is_one_failure_naming_its_database_and_itself():
    database = InMemoryDatabase(
        {"sales": 300, "hr": 100, "scratch": 10},
        unreadable={
            "sales": ["public.orders", "audit.log (no USAGE on schema audit)"],
            "hr": DatabaseError("cannot connect to db.acme.test:5432 as backup: permission denied"),
            "scratch": ["public.ignored"],
        },
        large_objects={"sales": ["large object 2121 (owned by alice)"]},
    )
    world = CheckWorld(database=database)
    results = run(world)
    assert nodes(results)[len(MOUNT) + len(CONFIG) + 1 :][:8] == [
        "find_unreadable",
        "find_unreadable",
        "report_unreadable",
        "report_unreadable",
        "report_unreadable",
        "report_unreadable",
        "check_privileges",
        "check_pg_dump",
    ]
    assert failed(results) == [
        (
            "find_unreadable",
            "acme hr cannot connect to db.acme.test:5432 as backup: permission denied",
        ),
        (
            "report_unreadable",
            "acme sales public.orders cannot be read by the backup role backup, so pg_dump would "
            "fail: grant it SELECT, or pg_read_all_data",
        ),
        (
            "report_unreadable",
            "acme sales audit.log (no USAGE on schema audit) cannot be read by the backup role "
            "backup, so pg_dump would fail: grant it USAGE on the schema, or pg_read_all_data",
        ),
        (
            "report_unreadable",
            "acme sales large object 2121 (owned by alice) cannot be read by the backup role "
            "backup, so pg_dump would fail: grant it SELECT on the large object, or make it a "
            "member of the owner",
        ),
    ]
    # Neither database could be read whole: their schemas are not probed.
    assert world.dumper.probed == []


def test_a_table_behind_row_level_security_asks_for_bypassrls():
    database = InMemoryDatabase(
        {"sales": 1}, unreadable={"sales": ["public.secrets (row-level security)"]}
    )
    results = run(CheckWorld(database=database))
    assert failed(results) == [
        (
            "report_unreadable",
            "acme sales public.secrets (row-level security) cannot be read by the backup role "
            "backup, so pg_dump would fail: give it BYPASSRLS (pg_dump reads every row, "
            "policies or not)",
        )
    ]


def test_a_long_list_of_unreadable_objects_is_cut_short_after_ten_lines():
    tables = [f"public.t{i:02d}" for i in range(13)]
    world = CheckWorld(database=InMemoryDatabase({"sales": 1}, unreadable={"sales": tables}))
    results = run(world)
    messages = [message for _, message in failed(results)]
    assert len(messages) == 11
    assert messages[9].startswith("acme sales public.t09 cannot be read")
    assert messages[10].startswith("acme sales and 3 more objects (listed in the log) cannot")


def test_a_failing_database_listing_is_one_failure():
    error = DatabaseError("cannot connect to db.acme.test:5432 as backup: query failed")
    world = CheckWorld(database=InMemoryDatabase({}, list_error=error))
    results = run(world)
    assert nodes(results) == [
        *MOUNT, *CONFIG, "connect_server", "check_privileges", "check_pg_dump", "probe_dumps",
        *KEYS, *SHARE, *END,
    ]  # fmt: skip
    assert failed(results) == [("check_privileges", f"acme {error}")]


def test_what_pg_dump_of_the_schema_refuses_is_one_failure_per_database():
    dumper = InMemoryDumper(
        probe_errors={"sales": "pg_dump: error: query failed: permission denied"}
    )
    world = CheckWorld(dumper=dumper)
    results = run(world)
    assert nodes(results) == CLEAN
    assert world.dumper.probed == ["hr", "sales"]
    assert failed(results) == [
        (
            "probe_dump",
            "acme sales pg_dump exited with 1: pg_dump: error: query failed: permission denied",
        )
    ]


def test_a_pg_dump_older_than_the_server_is_one_failure():
    world = CheckWorld(dumper=InMemoryDumper(too_old=True))
    results = run(world)
    # Without a pg_dump, no schema is probed.
    assert nodes(results) == [*MOUNT, *CONFIG, *SERVER[:5], *KEYS, *SHARE, *END]
    assert failed(results) == [("check_pg_dump", "acme pg_dump 9.6 is older than the server 15.4")]


# ---------------------------------------------------------------------- keys


def test_a_key_that_does_not_match_key_name_is_one_failure_and_skips_the_key_checks():
    world = CheckWorld(values=client_values(**{"key-name": "globex"}))
    results = run(world)
    assert nodes(results) == [
        *MOUNT,
        *CONFIG,
        *SERVER,
        "load_public_key",
        "check_keys",
        "check_signing_key",
        *SHARE,
        *END,
    ]
    assert failed(results) == [
        ("load_public_key", "acme the public key does not match key-name 'globex'")
    ]
    assert world.encryptor.open == []


def test_a_key_expiring_within_ninety_days_is_a_failure():
    world = CheckWorld(encryptor=InMemoryEncryptor(expires=NOW + timedelta(days=30)))
    results = run(world)
    assert nodes(results) == CLEAN
    assert failed(results) == [
        (
            "check_key_expiry",
            f"acme the public key {'F' * 40} expires on 2026-12-28 (in 30 days): extend it "
            "(gpg --quick-set-expire) and store the new public key",
        )
    ]


def test_an_escrow_key_expiring_soon_is_a_failure_and_a_distant_expiry_is_fine():
    escrow = client_values(**{"escrow-public-key": "ZXNjcm93"})
    world = CheckWorld(
        values=escrow,
        encryptor=InMemoryEncryptor(
            expires=NOW + timedelta(days=400), escrow_expires=NOW - timedelta(days=1)
        ),
    )
    results = run(world)
    assert failed(results) == [
        ("check_key_expiry", f"acme the escrow key {'E' * 40} expired on 2026-11-27")
    ]


def test_an_invalid_restore_config_is_one_failure():
    world = CheckWorld(restore=restore_values(**{"private-key": "not base64!"}))
    results = run(world)
    assert nodes(results) == [
        *MOUNT,
        *CONFIG,
        *SERVER,
        *KEYS_WITHOUT_RESTORE[:2],
        "read_restore_config",
        "load_private_key",
        "dispose_public_key",
        "check_keys",
        "check_signing_key",
        *SHARE,
        *END,
    ]
    assert failed(results) == [
        ("read_restore_config", "acme invalid restore config: private-key: is not valid base64")
    ]


def test_a_wrong_passphrase_is_one_failure_and_no_keyring_stays_open():
    world = CheckWorld(restore=restore_values(**{"private-key-passphrase": "wrong"}))
    results = run(world)
    assert nodes(results) == [
        *MOUNT,
        *CONFIG,
        *SERVER,
        *KEYS_WITHOUT_RESTORE[:2],
        "read_restore_config",
        "check_backup_config_host",
        "load_key",
        "load_private_key",
        "dispose_public_key",
        "check_keys",
        "check_signing_key",
        *SHARE,
        *END,
    ]
    assert failed(results) == [
        (
            "load_key",
            "acme the private-key-passphrase does not unlock the private key",
        )
    ]
    assert not world.decryptor.loaded
    assert world.encryptor.open == []
    assert "wrong" not in str(results)


def test_a_private_key_of_another_pair_is_one_failure():
    world = CheckWorld(decryptor=InMemoryDecryptor(fail=True, passphrase=PASSPHRASE))
    results = run(world)
    assert nodes(results) == CLEAN
    assert failed(results) == [
        (
            "decrypt_sample",
            "acme the restore config's private key cannot decrypt what the public key encrypts "
            "(are they one key pair?): gpg failed to decrypt: decryption failed: Bad session key",
        )
    ]


def test_a_failing_encryption_of_the_sample_is_one_failure():
    world = CheckWorld(encryptor=InMemoryEncryptor(fail=True))
    results = run(world)
    assert failed(results) == [("decrypt_sample", "acme gpg failed: encryption broken")]


def test_failing_keyring_disposals_are_failures_and_the_share_is_still_checked():
    world = CheckWorld(
        encryptor=InMemoryEncryptor(close_error=EncryptionError("cannot remove keyring")),
        decryptor=InMemoryDecryptor(close_error=OSError("busy")),
    )
    results = run(world)
    assert nodes(results) == CLEAN
    assert failed(results) == [
        ("dispose_private_key", "acme unrecognized exception: busy"),
        ("dispose_public_key", "acme cannot remove keyring"),
    ]


# ---------------------------------------------------------------------- share


def test_a_share_that_cannot_be_opened_is_one_failure_before_anything_is_checked():
    world = CheckWorld(opener_error=ShareUnavailableError("no share driver for 'ftp://...'"))
    results = run(world)
    assert nodes(results) == [*MOUNT[:3], "release_lock"]
    assert failed(results) == [("open_share", "acme no share driver for 'ftp://...'")]


def test_a_share_that_does_not_mount_is_one_failure():
    share = InMemoryFileShare(mount_error=ShareUnavailableError("mount error(13): denied"))
    world = CheckWorld(share=share)
    results = run(world)
    assert nodes(results) == [*MOUNT, "release_lock"]
    assert failed(results) == [("mount_share", "acme mount error(13): denied")]


def test_a_read_only_share_is_one_failure_of_the_probe():
    share = InMemoryFileShare(
        fail_writes_after=0,
        error=ShareUnavailableError("cannot write .probe: Read-only file system"),
    )
    world = CheckWorld(share=share)
    results = run(world)
    assert nodes(results) == CLEAN
    assert failed(results) == [("probe_share", "acme cannot write .probe: Read-only file system")]
    assert world.share.names() == []


def test_a_probe_that_cannot_be_renamed_is_removed_again():
    share = InMemoryFileShare(broken={"rename": ShareUnavailableError("rename refused")})
    world = CheckWorld(share=share)
    results = run(world)
    assert failed(results) == [("probe_share", "acme rename refused")]
    assert world.share.names() == []
    assert world.share.deleted == [PurePosixPath(PROBE)]


def test_a_probe_that_cannot_be_removed_either_is_a_second_failure():
    share = InMemoryFileShare(
        broken={
            "rename": ShareUnavailableError("rename refused"),
            "delete_file": ShareUnavailableError("delete refused"),
        }
    )
    world = CheckWorld(share=share)
    results = run(world)
    assert failed(results) == [
        ("probe_share", "acme rename refused"),
        ("remove_probe", "acme delete refused"),
    ]


def test_a_probe_that_cannot_be_deleted_is_one_failure():
    share = InMemoryFileShare(broken={"delete_file": ShareUnavailableError("delete refused")})
    world = CheckWorld(share=share)
    results = run(world)
    assert failed(results) == [("probe_share", "acme delete refused")]


def test_a_probe_that_reads_back_wrong_is_one_failure_and_is_removed():
    class Corrupting(InMemoryFileShare):
        def read_stream(self, path):
            yield b"garbage"

    world = CheckWorld(share=Corrupting())
    results = run(world)
    assert failed(results) == [
        (
            "probe_share",
            f"acme the probe file {PROBE}.renamed reads back 7 bytes, not the 50 written",
        )
    ]
    assert world.share.names() == []


def test_a_failing_unmount_is_one_failure():
    world = CheckWorld(share=InMemoryFileShare(unmount_error=ShareUnavailableError("busy")))
    results = run(world)
    assert nodes(results) == CLEAN
    assert failed(results) == [("unmount_share", "acme busy")]


def test_a_share_mounted_before_is_left_mounted():
    world = CheckWorld(share=InMemoryFileShare(already_mounted=True))
    run(world)
    assert world.share.unmounts == 0


# ---------------------------------------------------------------------- freshness

MONTHS_2026 = [(2026, m) for m in range(1, 11)]


def test_every_month_since_the_first_run_with_a_complete_run_is_fresh():
    world = CheckWorld()
    seed_months(world.share, MONTHS_2026)
    results = run(world)
    assert nodes(results) == [
        *CLEAN[:-6],
        "survey_runs",
        *["find_complete_run"] * 10,
        "check_months",
        *END[1:],
    ]
    assert all(r.ok for r in results)
    assert [str(m.month) for m in months(world)][:2] == ["2026-01", "2026-02"]


def test_a_missing_month_is_one_failure_naming_the_month():
    world = CheckWorld()
    seed_months(world.share, [m for m in MONTHS_2026 if m != (2026, 3)])
    results = run(world)
    assert failed(results) == [
        ("find_complete_run", "acme 2026-03 has no run (expected under end-of-month/2026-03/)")
    ]


def test_a_missing_fiscal_year_end_names_its_end_of_year_folder():
    world = CheckWorld()
    seed_months(world.share, [m for m in MONTHS_2026 if m != (2026, 6)])
    results = run(world)
    assert failed(results) == [
        ("find_complete_run", "acme 2026-06 has no run (expected under end-of-year/FY2026/)")
    ]


def test_a_month_with_only_incomplete_runs_is_one_failure():
    world = CheckWorld()
    seed_months(world.share, [m for m in MONTHS_2026 if m != (2026, 4)])
    seed_run(world.share, at(2026, 4), statuses={"sales": "ok", "hr": "failed"})
    results = run(world)
    assert failed(results) == [
        (
            "find_complete_run",
            "acme 2026-04 has no complete run (incomplete: end-of-month/2026-04/20260428T220000Z)",
        )
    ]


def test_the_current_month_is_not_required_until_it_has_passed():
    world = CheckWorld()
    seed_months(world.share, MONTHS_2026)
    results = run(world)
    assert "2026-11" not in [str(m.month) for m in months(world)]
    assert all(r.ok for r in results)
    world = CheckWorld(now=NOW + timedelta(days=5))
    seed_months(world.share, MONTHS_2026)
    assert failed(run(world)) == [
        ("find_complete_run", "acme 2026-11 has no run (expected under end-of-month/2026-11/)")
    ]


def test_months_older_than_their_retention_are_not_required():
    world = CheckWorld(values=client_values(**{"end-of-month-retention": "100"}))
    seed_months(world.share, [(2025, 6), (2026, 6), (2026, 9), (2026, 10)])
    results = run(world)
    assert all(r.ok for r in results), failed(results)
    # Year-ends are kept ten years, months only 100 days: July and August 2026 are gone.
    assert [str(m.month) for m in months(world)] == [
        "2025-06",
        "2026-06",
        "2026-09",
        "2026-10",
    ]


def test_a_share_with_runs_but_no_readable_manifest_is_one_failure():
    world = CheckWorld()
    seed_run(world.share, at(2026, 9), manifest=False)
    results = run(world)
    assert nodes(results) == CLEAN
    assert failed(results) == [
        ("survey_runs", "acme none of the 1 runs on the share has a readable manifest")
    ]


def test_a_share_that_cannot_be_listed_is_one_failure():
    share = InMemoryFileShare(broken={"list_dir": ShareUnavailableError("share vanished")})
    world = CheckWorld(share=share)
    results = run(world)
    assert failed(results) == [("survey_runs", "acme share vanished")]


def test_runs_dated_in_the_future_are_ignored():
    world = CheckWorld()
    seed_months(world.share, [(2027, 3)])
    results = run(world)
    assert all(r.ok for r in results)
    assert months(world) == []


def test_a_month_machine_passes_with_one_complete_run_among_others():
    run_id = RunId.at(at(2026, 3))
    runs = [
        MonthRun(StoredRun(run_id, Tier.END_OF_MONTH, "2026-03"), complete=False),
        MonthRun(StoredRun(run_id, Tier.END_OF_MONTH, "2026-03"), complete=True),
    ]
    machine = MonthFreshnessMachine(
        client="acme", month=Month(2026, 3), folder="end-of-month/2026-03", runs=runs
    )
    assert [r.ok for r in machine.execute()] == [True]


# ---------------------------------------------------------------------- end point


def test_the_end_point_prints_one_line_per_problem_and_exits_with_their_number():
    world = CheckWorld(
        values=client_values(**{"end-of-month-retention": "0"}),
        dumper=InMemoryDumper(too_old=True),
    )
    world.run_end_point()
    assert world.exit.code == 2
    assert world.console.lines[:2] == [
        "Failure: check_retention acme retention is not sane: end-of-month-retention is 0 "
        "days; it must be at least 1",
        "Failure: check_pg_dump acme pg_dump 9.6 is older than the server 15.4",
    ]
    assert world.console.lines[-1] == "check acme: 2 problems, 0 months of runs checked"


class Exploding(CheckClientMachine, abstract=True):
    def execute(self):
        raise RuntimeError("machine bug")


def test_the_end_point_releases_keys_and_mount_when_the_machine_breaks():
    world = CheckWorld()

    def broken(context):
        machine = world.check_machine(context)
        world.encryptor.load(b"key", "acme")  # a keyring the broken machine leaves open
        machine.__class__ = Exploding
        return machine

    world.run_end_point(broken)
    assert world.exit.code == 1
    assert world.console.lines[0] == "Failure: run_machine acme unrecognized exception: machine bug"
    assert world.encryptor.disposed
    assert not world.share.mounted


def test_secrets_never_reach_the_output():
    world = CheckWorld(database=InMemoryDatabase({}, error=DatabaseError(f"bad {PG_SECRET}")))
    world.run_end_point()
    assert PG_SECRET not in "\n".join(world.console.lines)


# ---------------------------------------------------------------------- the signing key (SPEC 14)


def test_a_signing_key_expiring_within_ninety_days_is_a_failure():
    from adapters.memory.signer import InMemorySigner

    world = CheckWorld(signer=InMemorySigner(expires=NOW + timedelta(days=60)))
    results = run(world)
    assert nodes(results) == CLEAN
    assert failed(results) == [
        (
            "check_signing_key",
            f"acme the signing key {'5' * 40} ([signing] key_file) expires on 2027-01-27 (in 60 "
            "days): extend it (gpg --quick-set-expire) and give its new public key to "
            "[signing] trusted_keys",
        )
    ]
    assert world.signer is not None
    assert world.signer.open == []


def test_an_expired_signing_key_is_a_failure_and_a_lasting_one_is_fine():
    from adapters.memory.signer import InMemorySigner

    expired = CheckWorld(signer=InMemorySigner(expires=NOW - timedelta(days=2)))
    assert "expired on 2026-11-26 (in 0 days)" in failed(run(expired))[0][1]
    lasting = CheckWorld(signer=InMemorySigner(expires=NOW + timedelta(days=400)))
    assert failed(run(lasting)) == []


def test_a_signing_key_or_trusted_keys_that_do_not_load_are_a_failure():
    from adapters.memory.signer import InMemorySignatureChecker, InMemorySigner
    from ports.errors import SigningError

    world = CheckWorld(signer=InMemorySigner(error=SigningError("key_file is open to others")))
    assert failed(run(world)) == [("check_signing_key", "acme key_file is open to others")]
    world = CheckWorld(
        checker=InMemorySignatureChecker(error=SigningError("trusted key /k.asc cannot be read"))
    )
    assert failed(run(world)) == [("check_signing_key", "acme trusted key /k.asc cannot be read")]


# ---------------------------------------------------------------------- drills


def drill_line(share, run_dir, result, at):
    from domain.rules.drills import DrillEntry, DrillResult
    from domain.services.audit_log import AuditLog

    AuditLog(share, PurePosixPath("drills.jsonl")).append(
        DrillEntry(
            drill=at, client="acme", run=run_dir.name, tier="end-of-month",
            period=run_dir.parent.name, database="sales", result=DrillResult(result),
            tables_compared=1, mismatches=0, counts_recorded=True, started=at, finished=at,
            target="db:5432", scratch_database="lts_drill_1",
        ).to_log()
    )  # fmt: skip


def test_without_drill_max_age_days_drills_are_not_checked():
    world = CheckWorld()
    seed_run(world.share, NOW - timedelta(days=40))
    results = run(world)
    assert "check_drills" in nodes(results)
    assert not [n for n, _ in failed(results) if n == "check_drills"]


def test_a_newest_complete_run_never_drilled_past_the_allowed_days_is_one_failure():
    world = CheckWorld(drill_max_age=timedelta(days=7))
    older = seed_run(world.share, NOW - timedelta(days=70))
    newest = seed_run(world.share, NOW - timedelta(days=10))
    drill_line(world.share, older, "ok", NOW - timedelta(days=60))
    results = run(world)
    assert [f for f in failed(results) if f[0] == "check_drills"] == [
        (
            "check_drills",
            f"acme the newest complete run {newest} (made 2026-11-18) is not proven restorable: "
            "it has never been drilled, and [check] drill_max_age_days = 7 allows 7 days; run "
            "the drill job",
        )
    ]


def test_a_failed_drill_does_not_prove_the_run_and_says_when_it_failed():
    world = CheckWorld(drill_max_age=timedelta(days=7))
    newest = seed_run(world.share, NOW - timedelta(days=10))
    drill_line(world.share, newest, "failed", NOW - timedelta(days=2))
    results = run(world)
    message = dict(failed(results))["check_drills"]
    assert "its last drill, on 2026-11-26, failed" in message


def test_a_drilled_or_young_newest_run_passes_and_an_incomplete_one_is_skipped():
    world = CheckWorld(drill_max_age=timedelta(days=7))
    proven = seed_run(world.share, NOW - timedelta(days=40))
    drill_line(world.share, proven, "ok", NOW - timedelta(days=35))
    seed_run(world.share, NOW - timedelta(days=9), statuses={"sales": "failed"})
    results = run(world)
    assert "check_drills" not in dict(failed(results))
    young = CheckWorld(drill_max_age=timedelta(days=7))
    seed_run(young.share, NOW - timedelta(days=3))
    assert "check_drills" not in dict(failed(run(young)))


def test_a_restore_config_without_backup_config_host_is_a_finding_of_check():
    world = CheckWorld(restore=restore_values(**{"backup-config-host": None}))
    results = run(world)
    assert failed(results) == [
        (
            "check_backup_config_host",
            "acme the restore config has no backup-config-host; add backup-config-host = "
            "file:///srv/acme.toml so that it is held to this client",
        )
    ]


def test_a_restore_config_of_another_client_is_a_finding_of_check():
    world = CheckWorld(restore=restore_values(**{"backup-config-host": "file:///srv/b.toml"}))
    results = run(world)
    assert [node for node, _ in failed(results)] == ["check_backup_config_host"]
