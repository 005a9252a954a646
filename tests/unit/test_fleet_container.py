"""The container wires metrics, hold, release and report; tests override providers only."""

import json
from pathlib import Path, PurePosixPath

from adapters.files.toml_config import TomlFileConfigSource
from adapters.memory.config_opener import InMemoryConfigOpener
from adapters.memory.metrics import InMemoryMetrics
from adapters.memory.report_writer import InMemoryReportWriter
from adapters.os.metrics import TextfileMetrics
from domain.framework.endpoints import DynamicMountingEndPoint, EndPoint
from domain.models.fleet import ClientStore, FleetClient
from domain.models.hold import HoldRequest
from domain.models.run import RunId
from domain.rules import metrics as m
from entrypoints.container import Container, run_job
from entrypoints.fleet import KeyVaultSources, SchemeConfigOpener
from entrypoints.requests import ConfigStore, HoldJob, ReleaseJob, ReportJob
from entrypoints.settings import load_settings
from tests.support.memory_world import World
from tests.support.seeding import at, seed_run
from tests.unit.test_container import backup_args, in_memory_container

RUN = RunId.at(at(2026, 10))


def with_metrics(container: Container, tmp_path: Path) -> InMemoryMetrics:
    container.settings.override(
        load_settings(
            {
                "LTS_PATHS__LOG_ROOT": str(tmp_path / "logs"),
                "LTS_CONFIG": str(tmp_path / "absent.toml"),
                "LTS_BACKUP__MIN_DUMP_BYTES": "16",
                "LTS_METRICS__TEXTFILE_DIR": str(tmp_path),
            }
        )
    )
    metrics = InMemoryMetrics()
    container.metrics.override(metrics)
    return metrics


def test_without_a_textfile_dir_there_is_no_metrics_adapter_and_no_observer(tmp_path):
    container, _ = in_memory_container(tmp_path)
    assert container.metrics() is None
    assert container.job_observer() is None


def test_the_textfile_dir_chooses_the_textfile_adapter(tmp_path):
    container = Container(request=backup_args())
    container.settings.override(
        load_settings(
            {"LTS_CONFIG": str(tmp_path / "x"), "LTS_METRICS__TEXTFILE_DIR": str(tmp_path)}
        )
    )
    assert isinstance(container.metrics(), TextfileMetrics)
    assert container.metrics().directory == tmp_path


def test_a_backup_through_the_container_publishes_its_metrics(tmp_path):
    container, world = in_memory_container(tmp_path)
    metrics = with_metrics(container, tmp_path)
    run_job(backup_args(), container=container)
    assert world.exit.code == 0, world.console.lines
    assert metrics.value("acme", "backup", m.FAILURES) == 0
    assert metrics.value("acme", "backup", m.DATABASE_OK, database="sales") == 1


def hold_request(job=HoldJob):
    return job(
        client_name="acme",
        config=ConfigStore(url="file:///nowhere/acme.toml", client_id="-", client_secret="-"),
        hold=HoldRequest(run_id=RUN, reason="case 42"),
    )


def test_hold_and_release_run_through_the_container_under_the_client_lock(tmp_path):
    shared = World()
    seed_run(shared.share, at(2026, 10))
    for job in (HoldJob, ReleaseJob):
        container, world = in_memory_container(tmp_path, hold_request(job))
        container.share_opener.override(shared.opener)
        assert isinstance(getattr(container, f"{job.job}_end_point")(), DynamicMountingEndPoint)
        run_job(hold_request(job), container=container)
        assert world.exit.code == 0, world.console.lines
        assert world.lock_table == {}
    log = shared.share.files[PurePosixPath("retention.log")].decode().splitlines()
    assert [json.loads(line)["event"] for line in log] == ["hold", "release"]


def test_the_report_runs_through_the_container(tmp_path):
    world = World()
    seed_run(world.share, at(2026, 10))
    request = ReportJob(
        clients=(FleetClient("acme", 6, ClientStore("file:///acme.toml", "-", "-")),),
        fleet_file=tmp_path / "fleet.toml",
        output=tmp_path / "out",
    )
    container, fleet_world = in_memory_container(tmp_path, request)
    container.config_opener.override(InMemoryConfigOpener({"file:///acme.toml": world.source}))
    container.share_opener.override(world.opener)
    writer = InMemoryReportWriter()
    container.report_machine.add_kwargs(writer=writer)
    assert isinstance(container.report_end_point(), EndPoint)
    run_job(request, container=container)
    assert fleet_world.exit.code == 0, fleet_world.console.lines
    assert [row.name for row in writer.reports[0].clients] == ["acme"]
    assert (tmp_path / "logs" / "fleet" / "report.log").exists()
    assert world.share.mounts == world.share.unmounts == 1


def test_the_config_opener_builds_file_and_key_vault_sources(tmp_path):
    container = Container(
        request=ReportJob(clients=(), fleet_file=tmp_path / "f", output=tmp_path / "o")
    )
    container.settings.override(load_settings({"LTS_CONFIG": str(tmp_path / "absent")}))
    opener = container.config_opener()
    assert isinstance(opener, SchemeConfigOpener)
    assert isinstance(opener.open(ClientStore("file:///x.toml", "-", "-")), TomlFileConfigSource)
    assert isinstance(opener.by_scheme["https"], KeyVaultSources)
    vault = opener.open(ClientStore("https://kv.vault.azure.net", "app", "token", tenant_id="t9"))
    assert type(vault).__name__ == "KeyVaultConfigSource"
