"""The operations container resolves the check, create_client and archive jobs; their arguments."""

import io
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from pydantic import SecretStr

from adapters.azure.key_vault import KeyVaultConfigSource
from adapters.files.toml_writer import TomlFileConfigWriter
from adapters.memory.config_store import InMemoryConfigStore
from adapters.memory.key_generator import InMemoryKeyGenerator
from adapters.memory.local_files import InMemoryLocalFiles
from domain.framework.endpoints import DynamicMountingEndPoint
from domain.models.operations import ArchiveRequest
from entrypoints import archive, check, create_client
from entrypoints.container import Container, run_job
from entrypoints.host import probe_name
from entrypoints.requests import ArchiveJob, CheckJob, ConfigStore, CreateClientJob
from entrypoints.settings import load_settings
from tests.support.memory_world import PG_SECRET
from tests.support.operations_world import CheckWorld, new_client
from tests.support.restore_world import KEY_VAULT


def args(job=CheckJob, url=KEY_VAULT, client_id="-", client_secret="-", **extra):
    values = {
        "client_name": "acme",
        "config": ConfigStore(url=url, client_id=client_id, client_secret=client_secret),
        "restore": ConfigStore(
            url="file:///nowhere/acme-restore.toml", client_id="-", client_secret="-"
        ),
    }
    values.update(extra)
    return job(**values)


def container_for(tmp_path: Path, request, world: CheckWorld):
    settings = load_settings(
        {"LTS_PATHS__LOG_ROOT": str(tmp_path / "logs"), "LTS_CONFIG": str(tmp_path / "absent")}
    )
    container = Container(request=request)
    container.settings.override(settings)
    container.console.override(world.console)
    container.exit.override(world.exit)
    container.clock.override(world.clock)
    container.config_source.override(world.source)
    container.restore_source.override(world.restore_source)
    container.share_opener.override(world.opener)
    container.database.override(world.database)
    container.dumper.override(world.dumper)
    container.encryptor.override(world.encryptor)
    container.decryptor.override(world.decryptor)
    return container


def test_a_check_runs_through_the_container_with_in_memory_adapters(tmp_path):
    world = CheckWorld()
    container = container_for(tmp_path, args(), world)
    assert isinstance(container.check_end_point(), DynamicMountingEndPoint)
    run_job(args(), container=container)
    assert world.exit.code == 0, world.console.lines
    assert world.console.lines == ["check acme: ready, 0 months of runs checked"]
    assert (tmp_path / "logs" / "acme" / "check.log").exists()


def test_create_client_runs_through_the_container_and_checks_what_it_wrote(tmp_path):
    world = CheckWorld()
    request = args(CreateClientJob, new_client=new_client())
    container = container_for(tmp_path, request, world)
    backup, restore = InMemoryConfigStore(), InMemoryConfigStore()
    container.backup_config_writer.override(backup)
    container.restore_config_writer.override(restore)
    container.config_source.override(backup)
    container.restore_source.override(restore)
    container.key_generator.override(InMemoryKeyGenerator())
    assert isinstance(container.create_client_end_point(), DynamicMountingEndPoint)
    run_job(request, container=container)
    assert world.exit.code == 0, world.console.lines
    assert backup.values["client-name"] == "acme"
    assert "private-key" in restore.values


def test_an_archive_runs_through_the_container(tmp_path):
    world = CheckWorld()
    files = InMemoryLocalFiles()
    files.files[PurePosixPath("/data/a.txt")] = b"hello"
    request = args(
        ArchiveJob, request=ArchiveRequest(file=PurePosixPath("/data/a.txt"), folder="misc")
    )
    container = container_for(tmp_path, request, world)
    container.local_files.override(files)
    assert isinstance(container.archive_end_point(), DynamicMountingEndPoint)
    run_job(request, container=container)
    assert world.exit.code == 0, world.console.lines
    assert world.share.exists(PurePosixPath("archive/misc/a.txt.gpg"))


def test_config_writers_are_chosen_by_scheme(tmp_path):
    container = Container(
        request=args(
            CreateClientJob,
            url="https://acme.vault.azure.net",
            client_id="a",
            client_secret="t",
            new_client=new_client(),
        )
    )
    container.settings.override(load_settings({"LTS_CONFIG": str(tmp_path / "absent")}))
    assert isinstance(container.backup_config_writer(), KeyVaultConfigSource)
    assert isinstance(container.restore_config_writer(), TomlFileConfigWriter)


def test_the_archive_request_holds_an_absolute_path_and_the_probe_a_hidden_name(monkeypatch):
    seen: list[Any] = []
    monkeypatch.setattr("entrypoints.container.run_job", seen.append)
    archive.main(["acme", "file:///c.toml", "-", "-", "rel/x.txt"])
    (request,) = seen
    assert request.request.file.is_absolute()
    assert request.request.file.name == "x.txt"
    assert probe_name().startswith(".lts-check-")


def test_check_and_archive_parse_their_arguments():
    parsed = check.parser().parse_args(["acme", "file:///c.toml", "-", "-"])
    assert parsed.restore_vault is None
    parsed = archive.parser().parse_args(["acme", "file:///c.toml", "-", "-", "f.pdf"])
    assert (parsed.file, parsed.folder) == ("f.pdf", None)


@pytest.mark.parametrize("folder", ["..", ".hidden", "a/b", "", "x" * 129])
def test_an_unsafe_archive_folder_exits_two(folder, capsys):
    with pytest.raises(SystemExit) as raised:
        archive.parser().parse_args(["acme", "file:///c.toml", "-", "-", "f", "--folder", folder])
    assert raised.value.code == 2
    assert "--folder" in capsys.readouterr().err


BASE = [
    "acme",
    "file:///etc/lts/acme.toml",
    "-",
    "-",
    "--restore-vault",
    "file:///etc/lts/acme-restore.toml",
    "--postgresql-host",
    "db",
    "--storage-unc",
    "file:///srv/share",
]


def build(argv, monkeypatch=None, stdin=""):
    parser = create_client.parser()
    namespace = parser.parse_args(argv)
    if monkeypatch is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return create_client.new_client(parser, namespace)


def test_create_client_reads_the_secret_from_a_file(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text(PG_SECRET + "\n")
    client = build(
        [
            *BASE,
            "--postgresql-auth",
            "password",
            "--postgresql-user",
            "backup",
            "--postgresql-secret-file",
            str(secret),
            "--exclude-databases",
            "a, b",
        ]
    )
    assert client.postgresql_secret == SecretStr(PG_SECRET)
    assert client.exclude_databases == ("a", "b")
    assert (client.end_of_month_retention, client.end_of_year_retention) == (400, 3650)


def test_create_client_reads_the_secret_from_stdin_for_entra(monkeypatch):
    client = build(
        [*BASE, "--service-principal-id", "app-1", "--postgresql-secret-file", "-"],
        monkeypatch,
        stdin="sp-secret\n",
    )
    assert client.postgresql_service_principal_id == "app-1"
    assert client.postgresql_user is None
    assert client.postgresql_secret.get_secret_value() == "sp-secret"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--postgresql-secret-file", "-"], "needs --service-principal-id"),
        (
            ["--postgresql-auth", "password", "--postgresql-secret-file", "-"],
            "needs --postgresql-user",
        ),
        (
            [
                "--service-principal-id",
                "a",
                "--postgresql-secret-file",
                "-",
                "--storage-key-file",
                "-",
            ],
            "only one secret can come from stdin",
        ),
        (
            ["--service-principal-id", "a", "--postgresql-secret-file", "/nonexistent"],
            "cannot read",
        ),
        (["--service-principal-id", "a"], "the PostgreSQL secret is empty"),
        (["--service-principal-id", "a", "--postgresql-secret", "x"], "unrecognized arguments"),
        (["--end-of-month-retention", "0"], "retention days must be"),
    ],
)
def test_bad_create_client_input_exits_two_with_one_line(extra, message, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    with pytest.raises(SystemExit) as raised:
        build([*BASE, *extra])
    assert raised.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.splitlines()) == 1


def test_the_restore_vault_must_differ_from_the_backup_config(capsys):
    argv = [*BASE[:5], "file:///etc/lts/acme.toml", *BASE[6:], "--service-principal-id", "a"]
    with pytest.raises(SystemExit):
        build(argv)
    assert "--restore-vault must be another store" in capsys.readouterr().err
