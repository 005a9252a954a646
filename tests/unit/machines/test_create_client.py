"""CreateClientMachine with in-memory adapters: every edge, the check included."""

import base64
from pathlib import PurePosixPath

from pydantic import SecretStr

from adapters.memory.config_store import InMemoryConfigStore
from adapters.memory.file_share import InMemoryFileShare
from adapters.memory.key_generator import InMemoryKeyGenerator
from domain.models.client_config import ClientConfig
from domain.models.restore_config import RestoreConfig
from ports.errors import ConfigSourceError, KeyGenerationError, ShareUnavailableError
from tests.support.memory_world import PG_SECRET
from tests.support.operations_world import CheckWorld, OnboardingWorld, new_client
from tests.unit.machines.test_check import CONFIG, KEYS, MOUNT, SERVER, SHARE

CREATE = [
    "check_configs_absent",
    "generate_signing_key",
    "generate_key",
    "write_restore_config",
    "write_backup_config",
    "create_folders",
]
CHECK = [*CONFIG, *SERVER, *KEYS, *SHARE, "survey_runs", "check_freshness", "check_drills"]
UNMOUNT = ["run_machine", "unmount_share", "release_lock"]
CHECKED = [*MOUNT, *CREATE, *CHECK, "run_check", *UNMOUNT]


def run(world):
    return world.mount_machine().execute()


def failed(results):
    return [(r.node, r.message) for r in results if not r.ok]


def test_a_new_client_gets_a_key_pair_both_configs_its_folders_and_a_clean_check():
    world = OnboardingWorld()
    results = run(world)
    assert [r.node for r in results] == CHECKED
    assert all(r.ok for r in results), failed(results)
    backup = ClientConfig.from_raw(world.backup_store.values, "acme")
    key = world.key_generator.generated[0]
    assert backup.public_key == key.public_key
    assert backup.key_name == "acme"
    assert backup.postgresql_secret.get_secret_value() == PG_SECRET
    assert backup.exclude_databases == frozenset({"scratch"})
    restore = RestoreConfig.from_raw(world.restore_store.values)
    assert restore.key_bytes.decode() == key.secret_key.get_secret_value()
    assert restore.private_key_passphrase.get_secret_value() == key.passphrase.get_secret_value()
    assert restore.backup_config_host == "file:///etc/lts/acme.toml"
    assert world.restore_store.values["client-name"] == "acme"
    assert key.user_id == "acme <acme@long-term-storage.invalid>"
    share = world.check.share
    assert {PurePosixPath(d) for d in ("end-of-month", "end-of-year", "archive")} <= share.dirs
    assert not share.mounted


def test_the_summary_names_the_key_and_what_was_written():
    world = OnboardingWorld()
    results = run(world)
    assert world.machine.summary(results) == (
        f"create_client acme: key {'F' * 40}, wrote restore config and backup config, ready"
    )


def test_entra_auth_writes_the_service_principal_and_no_user():
    world = OnboardingWorld(
        client=new_client(
            postgresql_auth="entra", postgresql_user=None, postgresql_service_principal_id="app-1"
        )
    )
    run(world)
    assert world.backup_store.values["postgresql-service-principal-id"] == "app-1"
    assert "postgresql-user" not in world.backup_store.values


def test_an_escrow_key_is_written_as_base64():
    world = OnboardingWorld(client=new_client(escrow_public_key=b"escrow key"))
    run(world)
    assert base64.b64decode(world.backup_store.values["escrow-public-key"]) == b"escrow key"


def test_settings_that_would_make_an_invalid_config_write_nothing():
    world = OnboardingWorld(client=new_client(storage_unc="//acct.file.core.windows.net/share"))
    results = run(world)
    assert [r.node for r in results] == ["read_config"]
    assert failed(results) == [
        (
            "read_config",
            "acme invalid client config: config: storage-name and storage-key "
            "are required for a //host/share",
        )
    ]
    assert world.key_generator.generated == []
    assert world.backup_store.writes == world.restore_store.writes == 0


def test_an_existing_backup_config_is_refused_and_nothing_is_written():
    world = OnboardingWorld(backup_store=InMemoryConfigStore({"client-name": "acme"}))
    results = run(world)
    assert [r.node for r in results] == [*MOUNT, "check_configs_absent", *UNMOUNT]
    assert failed(results) == [
        (
            "check_configs_absent",
            "acme the backup config (KEY_VAULT) already holds a client's settings; refusing to "
            "overwrite them, nothing was written",
        )
    ]
    assert world.key_generator.generated == []
    assert world.restore_store.writes == 0
    assert world.backup_store.values == {"client-name": "acme"}


def test_an_existing_restore_config_is_refused_too():
    world = OnboardingWorld(
        backup_store=InMemoryConfigStore(exists=True),
        restore_store=InMemoryConfigStore(exists=True),
    )
    results = run(world)
    assert failed(results) == [
        (
            "check_configs_absent",
            "acme the backup config (KEY_VAULT) and the restore config (--restore-vault) already "
            "hold a client's settings; refusing to overwrite them, nothing was written",
        )
    ]
    assert world.restore_store.writes == 0


def test_an_unreachable_config_store_is_one_failure():
    store = InMemoryConfigStore(read_error=ConfigSourceError("cannot read Key Vault: 403"))
    world = OnboardingWorld(backup_store=store)
    results = run(world)
    assert failed(results) == [("check_configs_absent", "acme cannot read Key Vault: 403")]


def test_a_failing_key_generation_writes_nothing():
    generator = InMemoryKeyGenerator(error=KeyGenerationError("gpg could not generate a key"))
    world = OnboardingWorld(key_generator=generator)
    results = run(world)
    assert [r.node for r in results] == [*MOUNT, *CREATE[:3], *UNMOUNT]
    assert failed(results) == [("generate_key", "acme gpg could not generate a key")]
    assert world.backup_store.writes == world.restore_store.writes == 0


def test_a_failing_restore_config_write_writes_no_backup_config():
    store = InMemoryConfigStore(write_error=ConfigSourceError("cannot write restore.toml"))
    world = OnboardingWorld(restore_store=store)
    results = run(world)
    assert [r.node for r in results] == [*MOUNT, *CREATE[:4], *UNMOUNT]
    assert failed(results) == [("write_restore_config", "acme cannot write restore.toml")]
    assert world.backup_store.writes == 0


def test_a_failing_backup_config_write_stops_after_the_restore_config():
    store = InMemoryConfigStore(write_error=ConfigSourceError("cannot write acme.toml"))
    world = OnboardingWorld(backup_store=store)
    results = run(world)
    assert [r.node for r in results] == [*MOUNT, *CREATE[:5], *UNMOUNT]
    assert failed(results) == [("write_backup_config", "acme cannot write acme.toml")]
    assert world.restore_store.writes == 1
    assert world.machine.summary(results).endswith("wrote restore config, 1 problem")


def test_a_share_that_cannot_be_opened_ends_the_run_before_anything_is_written():
    world = OnboardingWorld(
        check=CheckWorld(opener_error=ShareUnavailableError("no share driver for 'ftp://...'"))
    )
    results = run(world)
    assert [r.node for r in results] == [*MOUNT[:3], "release_lock"]
    assert failed(results) == [("open_share", "acme no share driver for 'ftp://...'")]
    assert world.key_generator.generated == []
    assert world.backup_store.writes == world.restore_store.writes == 0


def test_a_share_that_does_not_mount_ends_the_run_before_anything_is_written():
    share = InMemoryFileShare(mount_error=ShareUnavailableError("mount error(2)"))
    world = OnboardingWorld(check=CheckWorld(share=share))
    results = run(world)
    assert [r.node for r in results] == [*MOUNT, "release_lock"]
    assert failed(results) == [("mount_share", "acme mount error(2)")]
    assert world.backup_store.writes == world.restore_store.writes == 0


def test_folders_that_cannot_be_made_are_a_failure_and_the_check_still_runs():
    share = InMemoryFileShare(broken={"make_dirs": ShareUnavailableError("read-only share")})
    world = OnboardingWorld(check=CheckWorld(share=share))
    results = run(world)
    assert [r.node for r in results] == CHECKED
    assert failed(results) == [("create_folders", "acme read-only share")]
    assert share.unmounts == 1


def test_a_failing_unmount_is_a_failure_and_the_check_still_runs():
    share = InMemoryFileShare(unmount_error=ShareUnavailableError("busy"))
    world = OnboardingWorld(check=CheckWorld(share=share))
    results = run(world)
    assert [r.node for r in results] == CHECKED
    assert failed(results) == [("unmount_share", "acme busy")]


def test_the_checks_failures_are_part_of_the_result():
    world = OnboardingWorld(client=new_client(end_of_year_retention=100))
    results = run(world)
    assert [r.node for r in results] == CHECKED
    assert [node for node, _ in failed(results)] == ["check_retention"]


def test_the_end_point_exits_with_the_number_of_problems_and_never_prints_a_secret():
    world = OnboardingWorld(client=new_client(end_of_year_retention=100))
    world.run_end_point()
    assert world.check.exit.code == 1
    text = "\n".join(world.check.console.lines)
    assert world.check.console.lines[-1].endswith("1 problem")
    for secret in (PG_SECRET, "key-passphrase", "secret"):
        assert secret not in text


def test_the_new_clients_secrets_are_masked_from_the_start():
    world = OnboardingWorld(client=new_client(storage_key=SecretStr("storage-key-789")))
    run(world)
    assert world.check.redactor.redact(f"x {PG_SECRET} storage-key-789") == "x ***** *****"


# ---------------------------------------------------------------- --signing (SPEC 14)


def signing_world(path="/etc/lts/signing.asc"):
    from domain.models.signing import SigningKeyFiles

    return OnboardingWorld(signing_key=SigningKeyFiles(PurePosixPath(path) if path else None))


def test_signing_writes_the_operators_signing_key_and_its_public_key_before_anything_else():
    world = signing_world()
    results = run(world)
    assert [r.node for r in results] == CHECKED
    assert all(r.ok for r in results), failed(results)
    secret = world.files.files[PurePosixPath("/etc/lts/signing.asc")]
    assert secret.startswith(b"-----BEGIN PGP PRIVATE KEY BLOCK-----")
    assert world.files.files[PurePosixPath("/etc/lts/signing.pub.asc")].startswith(
        b"-----BEGIN PGP PUBLIC KEY BLOCK-----"
    )
    assert world.machine.signing_fingerprint == "5" * 40
    assert [key.fingerprint for key in world.key_generator.generated] == ["5" * 40, "F" * 40]
    assert "wrote signing key /etc/lts/signing.asc and restore config and backup config" in (
        world.machine.summary(results)
    )


def test_an_existing_signing_key_is_never_overwritten_and_nothing_is_written():
    world = signing_world()
    world.files.files[PurePosixPath("/etc/lts/signing.pub.asc")] = b"an older public key"
    results = run(world)
    assert [r.node for r in results] == [*MOUNT, *CREATE[:2], *UNMOUNT]
    assert failed(results) == [
        (
            "generate_signing_key",
            "acme /etc/lts/signing.pub.asc already exists; refusing to overwrite a signing key "
            "(leave out --signing to keep it), nothing was written",
        )
    ]
    assert world.backup_store.values == {}
    assert world.restore_store.values == {}
    assert world.key_generator.generated == []


def test_signing_without_a_key_file_in_the_master_config_writes_nothing():
    world = signing_world(path=None)
    results = run(world)
    assert failed(results) == [
        (
            "generate_signing_key",
            "acme --signing needs [signing] key_file in the master config (where the signing key "
            "goes); nothing was written",
        )
    ]
    assert world.restore_store.values == {}
