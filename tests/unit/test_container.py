"""The container resolves every end point; tests override providers, never patch modules."""

from pathlib import Path
from typing import Any

from dependency_injector import providers

from adapters.memory.clock import FixedClock
from adapters.memory.config_source import InMemoryConfigSource
from adapters.memory.console import RecordingConsole
from adapters.memory.encryptor import InMemoryEncryptor
from adapters.memory.exit import RecordingExit
from adapters.memory.file_share import InMemoryFileShare, InMemoryShareOpener
from adapters.memory.lock import InMemoryLock
from adapters.memory.postgres import InMemoryDatabase, InMemoryDumper
from adapters.memory.task_runner import SerialTaskRunner
from domain.framework.endpoints import DynamicMountingEndPoint
from entrypoints.container import Container, run_job
from entrypoints.requests import BackupJob, ConfigStore
from entrypoints.settings import load_settings
from tests.support.memory_world import World, client_values


def backup_args(url="file:///nowhere/acme.toml", client_id="-", client_secret="-", **overrides):
    values: dict[str, Any] = {
        "client_name": "acme",
        "eoy_month": 6,
        "config": ConfigStore(url=url, client_id=client_id, client_secret=client_secret),
    }
    values.update(overrides)
    return BackupJob(**values)


def in_memory_container(tmp_path: Path, args=None) -> tuple[Container, World]:
    world = World()
    settings = load_settings(
        {
            "LTS_PATHS__LOG_ROOT": str(tmp_path / "logs"),
            "LTS_CONFIG": str(tmp_path / "absent.toml"),
            "LTS_BACKUP__MIN_DUMP_BYTES": "16",
        }
    )
    container = Container(request=args or backup_args())
    container.settings.override(settings)
    container.console.override(world.console)
    container.exit.override(world.exit)
    container.clock.override(world.clock)
    container.config_source.override(world.source)
    container.share_opener.override(world.opener)
    container.lock.override(world.lock)
    container.database.override(world.database)
    container.dumper.override(world.dumper)
    container.encryptor.override(world.encryptor)
    container.backup_runner.override(SerialTaskRunner())
    return container, world


def test_the_backup_end_point_resolves_to_a_dynamic_mounting_end_point(tmp_path):
    container, _ = in_memory_container(tmp_path)
    assert isinstance(container.backup_end_point(), DynamicMountingEndPoint)


def test_a_backup_runs_through_the_container_with_in_memory_adapters(tmp_path):
    container, world = in_memory_container(tmp_path)
    run_job(backup_args(), container=container)
    assert world.exit.code == 0, world.console.lines
    assert world.console.lines[-1].startswith("backup acme: 3 of 3 databases ok")
    assert any(name.endswith("manifest.json") for name in world.share.names())
    assert (tmp_path / "logs" / "acme" / "backup.log").exists()


def test_the_config_source_is_chosen_by_the_key_vault_scheme(tmp_path):
    from adapters.azure.key_vault import KeyVaultConfigSource
    from adapters.files.toml_config import TomlFileConfigSource

    file_container = Container(request=backup_args())
    assert isinstance(file_container.config_source(), TomlFileConfigSource)
    vault = backup_args(url="https://acme.vault.azure.net", client_id="app", client_secret="t")
    vault_container = Container(request=vault)
    vault_container.settings.override(load_settings({"LTS_CONFIG": str(tmp_path / "absent")}))
    assert isinstance(vault_container.config_source(), KeyVaultConfigSource)


def test_a_bad_master_config_is_one_critical_line_and_exit_one(tmp_path):
    bad = tmp_path / "config.toml"
    bad.write_text("[backup]\nworker_pool_size = 0\ntimezone = 'Mars/Olympus'\n")
    console, exit_ = RecordingConsole(), RecordingExit()
    container = Container(request=backup_args())
    container.settings.override(providers.Callable(load_settings, {"LTS_CONFIG": str(bad)}))
    container.console.override(console)
    container.exit.override(exit_)
    run_job(backup_args(), container=container)
    assert exit_.code == 1
    assert len(console.lines) == 1
    assert console.lines[0].startswith("Critical failure: ")
    assert "backup.worker_pool_size" in console.lines[0]
    assert "backup.timezone" in console.lines[0]


def test_memory_world_helpers_stay_in_step_with_the_container(tmp_path):
    # The unit tests' world and the container wire the same ports.
    container, world = in_memory_container(tmp_path)
    assert container.config_source() is world.source
    assert isinstance(world.opener, InMemoryShareOpener)
    assert isinstance(world.share, InMemoryFileShare)
    assert isinstance(world.database, InMemoryDatabase)
    assert isinstance(world.dumper, InMemoryDumper)
    assert isinstance(world.encryptor, InMemoryEncryptor)
    assert isinstance(world.lock, InMemoryLock)
    assert isinstance(world.clock, FixedClock)
    assert isinstance(world.source, InMemoryConfigSource)
    assert client_values()["client-name"] == "acme"


def test_the_pool_and_zstds_threads_are_sized_together_from_the_cpus(tmp_path):
    def sized(cpus: int, pool: str | None) -> tuple[int, int, int]:
        environ = {"LTS_CONFIG": str(tmp_path / "absent.toml")}
        if pool is not None:
            environ["LTS_BACKUP__WORKER_POOL_SIZE"] = pool
        container = Container(request=backup_args())
        container.settings.override(load_settings(environ))
        container.cpus.override(cpus)
        dumper = container.dumper()
        return container.backup_runner().workers, dumper.cpus, dumper.pool

    assert sized(2, None) == (2, 2, 2)
    assert sized(8, "auto") == (8, 8, 8)
    assert sized(8, "2") == (2, 8, 2)
    assert sized(2, "1") == (1, 2, 1)


def test_the_default_compression_is_zstd_and_reads_go_through_zstd(tmp_path):
    container = Container(request=backup_args())
    container.settings.override(load_settings({"LTS_CONFIG": str(tmp_path / "absent.toml")}))
    assert container.dumper().compression == "zstd:1"
    assert container.restore_ports().decompressor is container.decompressor()


def test_the_smb_driver_builds_the_userspace_share_only_when_a_share_needs_it(tmp_path):
    from pydantic import SecretStr

    from adapters.smb.share import SmbFileShare
    from ports.file_share import ShareTarget

    container = Container(request=backup_args())
    environ = {"LTS_CONFIG": str(tmp_path / "absent.toml"), "LTS_SHARE__CIFS_DRIVER": "smb"}
    container.settings.override(load_settings(environ))
    target = ShareTarget("acme", "//files.example/acme", "acme", SecretStr("storage-key"))

    assert isinstance(container.share_opener().open(target), SmbFileShare)
