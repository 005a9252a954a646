"""RestoreDatabaseMachine with in-memory adapters: every edge, exact node order."""

import json
from pathlib import PurePosixPath
from typing import Any

import pytest

from adapters.memory.decompressor import FRAME, InMemoryDecompressor
from adapters.memory.decryptor import InMemoryDecryptor
from adapters.memory.encryptor import InMemoryEncryptor
from domain.models.restore_request import RestoreRequest, RunChoice
from ports.errors import ConfigSourceError, LocalFileError, RestoreError
from ports.restorer import OPERATOR_AUTH, PropertyKind
from tests.support.restore_world import (
    FIRST,
    FIRST_RUN,
    PASSPHRASE,
    SECOND,
    SECOND_RUN,
    RestoreWorld,
    restore_values,
)

MOUNT = ["read_config", "take_lock", "open_share", "mount_share"]
UNMOUNT = ["run_machine", "unmount_share", "release_lock"]
HAPPY = [
    "read_restore_config",
    "check_backup_config_host",
    "load_key",
    "load_private_key",
    "find_run",
    "check_target",
    "decrypt_dump",
    "restore_globals",
    "read_properties",
    "create_database",
    "restore_database",
    "apply_properties",
    "count_tables",
    "remove_plaintext",
    "dispose_key",
]


def request(**overrides):
    values: dict[str, Any] = {"database": "sales", "target_database": "sales_copy"}
    values.update(overrides)
    return RestoreRequest(**values)


def run(world, **overrides):
    return world.restore_machine(request(**overrides)).execute()


def order(results):
    return [r.node for r in results]


def failed(results):
    return [(r.node, r.message) for r in results if not r.ok]


def stored_plain(world, run_dir, file="sales.dump.gpg"):
    return InMemoryEncryptor.decrypt(world.share.files[run_dir / file])


def test_a_restore_of_latest_restores_the_newest_dump_and_removes_the_plaintext():
    world = RestoreWorld()
    results = run(world)
    assert order(results) == [*MOUNT, *HAPPY, *UNMOUNT]
    assert all(r.ok for r in results)
    assert world.restorer.restored == {"sales_copy": stored_plain(world, SECOND_RUN)}
    assert world.files.files == {}
    assert world.files.removed == [PurePosixPath("/work/scratch-1.dump")]
    assert world.decryptor.disposals == 1
    assert not world.decryptor.loaded
    assert world.restorer.targets[0].server.auth == "password"
    assert world.machine.summary(results) == (
        f"restore acme: sales from run {SECOND} (end-of-month/2026-12) into sales_copy on "
        "db.acme.test:5432: 3 tables restored in 0.0 s, 4 database-level properties applied; "
        'not brought back: ALTER DATABASE "sales_copy" OWNER TO alice (the owner is kept only '
        "with --keep-owners)"
    )


def test_the_end_point_prints_the_summary_and_exits_zero():
    world = RestoreWorld()
    world.end_point(world.restore_machine(request()))
    assert world.code == 0
    assert world.lines == [world.lines[-1]]
    assert world.lines[0].startswith(f"restore acme: sales from run {SECOND}")


def test_a_named_run_restores_that_runs_dump():
    world = RestoreWorld()
    run(world, run=RunChoice.parse(FIRST))
    assert world.restorer.restored["sales_copy"] == stored_plain(world, FIRST_RUN)


def test_latest_passes_over_a_run_where_the_database_failed():
    world = RestoreWorld()
    path = SECOND_RUN / "manifest.json"
    manifest = json.loads(world.share.files[path])
    for entry in manifest["databases"]:
        if entry["name"] == "sales":
            entry["status"] = "failed"
    world.share.files[path] = json.dumps(manifest).encode()
    results = run(world)
    assert all(r.ok for r in results)
    assert world.restorer.restored["sales_copy"] == stored_plain(world, FIRST_RUN)


def test_jobs_and_owner_options_reach_pg_restore():
    world = RestoreWorld()
    run(world, jobs=4, keep_owners=True)
    (options,) = world.restorer.options
    assert (options.jobs, options.clean, options.keep_owners) == (4, False, True)


def test_another_target_host_uses_the_operators_credentials():
    world = RestoreWorld()
    run(world, target_host="other.test", target_user="dba")
    server = world.restorer.targets[0].server
    assert (server.host, server.port, server.user, server.auth) == (
        "other.test",
        5432,
        "dba",
        OPERATOR_AUTH,
    )
    assert server.secret.get_secret_value() == ""


def test_an_invalid_restore_config_lists_every_problem_and_stops():
    world = RestoreWorld(
        restore=restore_values(**{"private-key": "%%%", "private-key-passphrase": None})
    )
    results = run(world)
    assert order(results) == [*MOUNT, "read_restore_config", "load_private_key", *UNMOUNT]
    assert failed(results) == [
        (
            "read_restore_config",
            "acme sales invalid restore config: private-key: is not valid base64; "
            "private-key-passphrase is missing",
        )
    ]


def test_an_unreadable_restore_vault_is_one_failure():
    world = RestoreWorld()
    world.restore_source.error = ConfigSourceError("config file /x.toml does not exist")
    results = run(world)
    assert failed(results) == [
        ("read_restore_config", "acme sales config file /x.toml does not exist")
    ]


def test_a_wrong_passphrase_stops_before_anything_is_decrypted():
    world = RestoreWorld(decryptor=InMemoryDecryptor(passphrase="another"))
    results = run(world)
    assert order(results) == [
        *MOUNT,
        "read_restore_config",
        "check_backup_config_host",
        "load_key",
        "load_private_key",
        *UNMOUNT,
    ]
    assert failed(results) == [
        ("load_key", "acme sales the private-key-passphrase does not unlock the private key")
    ]
    assert world.restorer.targets == []


def test_the_passphrase_and_private_key_are_registered_as_secrets():
    world = RestoreWorld()
    run(world)
    text = world.redactor.redact(f"x {PASSPHRASE} {restore_values()['private-key']}")
    assert PASSPHRASE not in text
    assert "PGP" not in text


@pytest.mark.parametrize(
    ("choice", "database", "message"),
    [
        ("20200101T000000Z", "sales", "run 20200101T000000Z is not on the share (newest runs: "),
        (FIRST, "nope", f"run {FIRST} holds no database 'nope' (sales, crm, hr)"),
        ("latest", "nope", "no published run holds an ok dump of database 'nope'"),
    ],
)
def test_a_run_or_database_that_is_not_there_is_one_failure(choice, database, message):
    world = RestoreWorld()
    results = run(world, run=RunChoice.parse(choice), database=database)
    assert order(results) == [
        *MOUNT,
        "read_restore_config",
        "check_backup_config_host",
        "load_key",
        "load_private_key",
        "find_run",
        "dispose_key",
        *UNMOUNT,
    ]
    assert failed(results)[0][1].startswith(f"acme {database} {message}")


def test_a_failed_dump_in_the_named_run_is_refused():
    world = RestoreWorld()
    path = FIRST_RUN / "manifest.json"
    manifest = json.loads(world.share.files[path])
    manifest["databases"][0]["status"] = "failed"
    manifest["databases"][0]["error"] = "pg_dump failed"
    world.share.files[path] = json.dumps(manifest).encode()
    results = run(world, run=RunChoice.parse(FIRST))
    assert failed(results) == [
        ("find_run", f"acme sales the dump of 'sales' in run {FIRST} failed: pg_dump failed")
    ]


def test_no_run_at_all_is_one_failure():
    world = RestoreWorld(runs=0)
    results = run(world)
    assert failed(results) == [("find_run", "acme sales there is no published run on the share")]


def test_a_non_empty_target_without_clean_is_refused_and_nothing_changes():
    world = RestoreWorld(objects={"sales_copy": 5})
    results = run(world)
    assert order(results) == [
        *MOUNT,
        "read_restore_config",
        "check_backup_config_host",
        "load_key",
        "load_private_key",
        "find_run",
        "check_target",
        "dispose_key",
        *UNMOUNT,
    ]
    assert failed(results) == [
        (
            "check_target",
            "acme sales target database sales_copy on db.acme.test:5432 is not empty "
            "(5 objects); nothing was changed, pass --clean to replace its contents",
        )
    ]
    assert world.restorer.objects == {"sales_copy": 5}
    assert world.files.files == {}
    assert world.restorer.options == []


def test_clean_replaces_a_non_empty_target_without_creating_it():
    world = RestoreWorld(objects={"sales_copy": 5})
    results = run(world, clean=True)
    assert all(r.ok for r in results)
    assert world.restorer.options[0].clean
    assert "sales_copy" in world.restorer.restored


def test_an_existing_empty_target_is_restored_into_without_clean():
    world = RestoreWorld(objects={"sales_copy": 0})
    results = run(world)
    assert all(r.ok for r in results)
    assert not world.restorer.options[0].clean


def test_an_unreachable_target_server_stops_before_decrypting():
    world = RestoreWorld(restorer_broken={"inspect": RestoreError("cannot connect to db:5432")})
    results = run(world)
    assert failed(results) == [("check_target", "acme sales cannot connect to db:5432")]
    assert world.files.removed == []


def test_a_decryption_failure_leaves_no_plaintext():
    world = RestoreWorld(decryptor=InMemoryDecryptor(passphrase=PASSPHRASE, fail=True))
    results = run(world)
    assert order(results) == [
        *MOUNT,
        "read_restore_config",
        "check_backup_config_host",
        "load_key",
        "load_private_key",
        "find_run",
        "check_target",
        "decrypt_dump",
        "remove_plaintext",
        "dispose_key",
        *UNMOUNT,
    ]
    assert "Bad session key" in failed(results)[0][1]
    assert world.files.files == {}


def test_a_stored_file_that_differs_from_the_manifest_is_refused_and_its_plaintext_removed():
    world = RestoreWorld()
    path = SECOND_RUN / "sales.dump.gpg"
    world.share.files[path] = world.share.files[path] + b"ENC:tampered"
    results = run(world)
    assert [node for node, _ in failed(results)] == ["decrypt_dump"]
    assert "sales.dump.gpg is " in failed(results)[0][1]
    assert "the manifest says" in failed(results)[0][1]
    assert world.files.files == {}
    assert world.restorer.restored == {}


def test_a_scratch_file_that_cannot_be_written_is_one_failure():
    world = RestoreWorld(files_broken={"write_scratch": LocalFileError("cannot create /work")})
    results = run(world)
    assert failed(results) == [("decrypt_dump", "acme sales cannot create /work")]


def test_globals_are_applied_first_when_asked():
    world = RestoreWorld()
    results = run(world, globals=True)
    assert all(r.ok for r in results)
    assert world.restorer.globals_sql == [b"CREATE ROLE app;\n"]


def test_globals_that_fail_do_not_stop_the_database_restore():
    world = RestoreWorld(restorer_broken={"apply_globals": RestoreError("psql could not connect")})
    results = run(world, globals=True)
    assert order(results) == [*MOUNT, *HAPPY, *UNMOUNT]
    assert failed(results) == [("restore_globals", "acme sales psql could not connect")]
    assert "sales_copy" in world.restorer.restored


def test_a_database_that_cannot_be_created_is_one_failure_and_no_plaintext_stays():
    world = RestoreWorld(
        restorer_broken={"create_database": RestoreError("permission denied to create database")}
    )
    results = run(world)
    assert order(results) == [*MOUNT, *HAPPY[:10], "remove_plaintext", "dispose_key", *UNMOUNT]
    assert world.files.files == {}


def test_a_failing_pg_restore_drops_the_database_it_created_and_removes_the_plaintext():
    world = RestoreWorld(restorer_broken={"restore": RestoreError("pg_restore exited with 1")})
    results = run(world)
    assert order(results) == [
        *MOUNT,
        *HAPPY[:11],
        "drop_failed_target",
        "remove_plaintext",
        "dispose_key",
        *UNMOUNT,
    ]
    assert world.restorer.dropped == ["sales_copy"]
    assert "sales_copy" not in world.restorer.objects
    assert world.files.files == {}
    assert world.machine.summary(results).endswith("not restored, 1 failures")


def test_a_failing_pg_restore_into_an_existing_target_drops_nothing():
    world = RestoreWorld(
        objects={"sales_copy": 0}, restorer_broken={"restore": RestoreError("pg_restore failed")}
    )
    run(world)
    assert world.restorer.dropped == []


def test_a_drop_that_fails_is_reported_and_the_plaintext_still_removed():
    world = RestoreWorld(
        restorer_broken={
            "restore": RestoreError("pg_restore failed"),
            "drop_database": RestoreError("database is being accessed"),
        }
    )
    results = run(world)
    assert [node for node, _ in failed(results)] == ["restore_database", "drop_failed_target"]
    assert world.files.files == {}


def test_a_table_count_that_fails_is_one_failure():
    world = RestoreWorld(restorer_broken={"count_tables": RestoreError("connection lost")})
    results = run(world)
    assert order(results) == [*MOUNT, *HAPPY, *UNMOUNT]
    assert failed(results) == [("count_tables", "acme sales connection lost")]


def test_a_plaintext_that_cannot_be_removed_is_reported_and_the_key_still_disposed():
    world = RestoreWorld(files_broken={"remove": LocalFileError("cannot remove /work/x")})
    results = run(world)
    assert failed(results) == [("remove_plaintext", "acme sales cannot remove /work/x")]
    assert world.decryptor.disposals == 1


def test_a_keyring_that_cannot_be_disposed_is_one_failure():
    world = RestoreWorld(
        decryptor=InMemoryDecryptor(passphrase=PASSPHRASE, close_error=OSError("busy"))
    )
    results = run(world)
    assert order(results) == [*MOUNT, *HAPPY, *UNMOUNT]
    assert failed(results) == [("dispose_key", "acme sales unrecognized exception: busy")]


# ---------------------------------------------------------------------- zstd and mixed runs


def plain_of(world, run_dir, file):
    """The plaintext of a stored file, undoing the in-memory 'encryption' and 'compression'."""
    data = InMemoryEncryptor.decrypt(world.share.files[run_dir / file])
    return data.removeprefix(FRAME) if file.endswith(".zst.gpg") else data


def test_a_zstd_run_is_decompressed_on_its_way_to_the_scratch_file():
    world = RestoreWorld(compressions=["gzip:6", "zstd:3"])
    results = run(world, globals=True)
    assert order(results) == [*MOUNT, *HAPPY, *UNMOUNT]
    assert all(r.ok for r in results)
    restored = world.restorer.restored["sales_copy"]
    assert restored == plain_of(world, SECOND_RUN, "sales.dump.zst.gpg")
    assert restored.startswith(b"PGDMPsales")
    assert world.restorer.globals_sql == [b"CREATE ROLE app;\n"]
    assert world.decompressor.decompressed == 2
    assert world.files.files == {}


def test_an_older_gzip_run_beside_zstd_runs_is_restored_without_zstd():
    world = RestoreWorld(compressions=["gzip:6", "zstd:3"])
    results = run(world, run=RunChoice.parse(FIRST), globals=True)
    assert all(r.ok for r in results)
    assert world.restorer.restored["sales_copy"] == plain_of(world, FIRST_RUN, "sales.dump.gpg")
    assert world.decompressor.decompressed == 0


def test_a_zstd_stream_that_does_not_decompress_leaves_no_plaintext():
    world = RestoreWorld(
        compressions=["zstd:3", "zstd:3"], decompressor=InMemoryDecompressor(fail=True)
    )
    results = run(world)
    assert failed(results) == [
        ("decrypt_dump", "acme sales zstd failed to decompress (exit 1): corrupted block detected")
    ]
    assert world.files.files == {}
    assert world.restorer.restored == {}
    assert not world.decryptor.loaded


def test_the_database_is_created_as_dumped_and_its_properties_applied_after_its_contents():
    world = RestoreWorld()
    run(world, keep_owners=True)
    assert world.restorer.created == {
        "sales_copy": "CREATE DATABASE \"sales_copy\" WITH TEMPLATE = template0 ENCODING = 'UTF8'"
    }
    assert [s.kind for s in world.restorer.applied] == [
        PropertyKind.OWNER,
        PropertyKind.COMMENT,
        PropertyKind.SETTING,
        PropertyKind.ROLE_SETTING,
        PropertyKind.PRIVILEGE,
    ]
    assert world.machine.not_restored == []


def test_keep_owners_brings_back_everything_and_the_summary_says_so():
    world = RestoreWorld()
    results = run(world, keep_owners=True)
    assert all(r.ok for r in results)
    assert world.machine.summary(results).endswith(
        "3 tables restored in 0.0 s, 5 database-level properties applied"
    )


def test_without_keep_owners_the_owner_is_listed_as_not_brought_back():
    world = RestoreWorld()
    results = run(world)
    assert all(r.ok for r in results)
    assert PropertyKind.OWNER not in [s.kind for s in world.restorer.applied]
    assert [lost.reason for lost in world.machine.not_restored] == [
        "the owner is kept only with --keep-owners"
    ]


def test_statements_naming_missing_roles_are_listed_not_failed():
    world = RestoreWorld(restorer_switches={"missing_roles": {"bob"}})
    results = run(world, keep_owners=True)
    assert all(r.ok for r in results)
    summary = world.machine.summary(results)
    assert summary.endswith(
        "3 database-level properties applied; not brought back: "
        "ALTER ROLE bob IN DATABASE \"sales_copy\" SET work_mem TO '1MB' "
        '(role "bob" does not exist); GRANT CONNECT ON DATABASE "sales_copy" TO bob '
        '(role "bob" does not exist)'
    )


def test_a_database_level_statement_that_fails_otherwise_is_one_failure_and_listed():
    world = RestoreWorld(
        restorer_switches={
            "failing": {PropertyKind.SETTING: "permission denied to set parameter"},
        }
    )
    results = run(world, keep_owners=True)
    assert order(results) == [*MOUNT, *HAPPY, *UNMOUNT]
    assert failed(results) == [
        (
            "apply_properties",
            "acme sales 1 database-level property of source not brought back into sales_copy: "
            "ALTER DATABASE \"sales_copy\" SET work_mem TO '8MB' (permission denied to set "
            "parameter)",
        )
    ]
    assert world.machine.summary(results).endswith("; 1 failures")


def test_a_database_level_statement_that_is_not_understood_is_a_failure_never_applied():
    world = RestoreWorld(restorer_switches={"unknown": ("ALTER DATABASE src FROBNICATE",)})
    results = run(world, keep_owners=True)
    assert failed(results) == [
        (
            "apply_properties",
            "acme sales 1 database-level property of source not brought back into sales_copy: "
            "ALTER DATABASE src FROBNICATE (not understood)",
        )
    ]
    assert "sales_copy" in world.restorer.restored


def test_a_server_that_cannot_create_the_database_as_dumped_gets_its_defaults_and_says_so():
    world = RestoreWorld(restorer_switches={"create_fallback": 'invalid locale name: "de_DE"'})
    results = run(world, keep_owners=True)
    assert all(r.ok for r in results)
    assert world.machine.summary(results).endswith(
        'not brought back: encoding, locale and tablespace (invalid locale name: "de_DE")'
    )


def test_an_existing_target_keeps_its_own_creation_options_but_gets_the_properties():
    world = RestoreWorld(objects={"sales_copy": 0})
    results = run(world, keep_owners=True)
    assert all(r.ok for r in results)
    assert world.restorer.created == {}
    assert len(world.restorer.applied) == 5


def test_an_archive_whose_properties_cannot_be_read_stops_before_creating_anything():
    world = RestoreWorld(
        restorer_broken={"read_properties": RestoreError("pg_restore --list failed")}
    )
    results = run(world)
    assert order(results) == [*MOUNT, *HAPPY[:9], "remove_plaintext", "dispose_key", *UNMOUNT]
    assert failed(results) == [("read_properties", "acme sales pg_restore --list failed")]
    assert world.restorer.objects == {}
    assert world.files.files == {}


def test_globals_errors_other_than_already_exists_are_one_failure_and_the_restore_goes_on():
    world = RestoreWorld(
        restorer_switches={
            "globals_errors": (
                "ERROR: 42501: permission denied to create role",
                "invalid command \\restrict",
            )
        }
    )
    results = run(world, globals=True)
    assert order(results) == [*MOUNT, *HAPPY, *UNMOUNT]
    assert failed(results) == [
        (
            "restore_globals",
            'acme sales 2 statements of globals.sql.gpg failed (only "already exists" is '
            "expected): ERROR: 42501: permission denied to create role; invalid command \\restrict",
        )
    ]
    assert "sales_copy" in world.restorer.restored


def test_a_restore_config_of_another_client_is_refused_before_anything_is_decrypted():
    world = RestoreWorld(restore=restore_values(**{"backup-config-host": "file:///srv/other.toml"}))
    results = run(world)
    assert order(results) == [
        *MOUNT,
        "read_restore_config",
        "check_backup_config_host",
        "load_private_key",
        *UNMOUNT,
    ]
    assert failed(results) == [
        (
            "check_backup_config_host",
            "acme sales the restore config belongs to the backup config file:///srv/other.toml, "
            "not to KEY_VAULT file:///srv/acme.toml; nothing was decrypted",
        )
    ]
    assert world.decryptor.loads == 0
    assert world.restorer.targets == []


def test_the_same_store_written_differently_is_accepted():
    world = RestoreWorld(
        restore=restore_values(**{"backup-config-host": "FILE:///srv/./x/../acme.toml/"})
    )
    results = run(world)
    assert all(r.ok for r in results)


def test_an_old_restore_config_without_backup_config_host_is_accepted_with_a_warning(caplog):
    world = RestoreWorld(restore=restore_values(**{"backup-config-host": None}))
    results = run(world)
    assert all(r.ok for r in results)
    assert "the restore config has no backup-config-host" in caplog.text
