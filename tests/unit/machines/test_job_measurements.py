"""What the backup, retention and check machines measure for the metrics (SPEC 16)."""

from datetime import UTC, datetime, timedelta

from adapters.memory.encryptor import InMemoryEncryptor
from adapters.memory.metrics import InMemoryMetrics
from domain.framework.endpoints import DynamicMountingEndPoint
from domain.rules import metrics as m
from domain.services.job_metrics import JobMetricsRecorder
from tests.support.memory_world import World
from tests.support.operations_world import CheckWorld
from tests.support.seeding import at, seed_run


def run_backup(world: World, metrics: InMemoryMetrics) -> None:
    DynamicMountingEndPoint(
        mount=world.mount,
        job=world.backup_machine,
        console=world.console,
        exit=world.exit,
        observer=JobMetricsRecorder(
            metrics=metrics, clock=world.clock, client="acme", job="backup"
        ),
    ).execute()


def test_a_backup_publishes_every_database_its_key_and_its_complete_period():
    expires = datetime(2027, 1, 1, tzinfo=UTC)
    world = World(encryptor=InMemoryEncryptor(expires=expires))
    metrics = InMemoryMetrics()
    run_backup(world, metrics)
    assert world.exit.code == 0, world.console.lines
    for name in ("sales", "hr", "crm"):
        assert metrics.value("acme", "backup", m.DATABASE_OK, database=name) == 1
        assert (metrics.value("acme", "backup", m.DATABASE_BYTES, database=name) or 0) > 0
        assert metrics.value("acme", "backup", m.DATABASE_DURATION, database=name) == 0
    assert metrics.value("acme", "backup", m.DATABASE_BYTES, database="scratch") is None
    assert metrics.value("acme", "backup", m.KEY_EXPIRY, key="encryption") == expires.timestamp()
    assert metrics.value("acme", "backup", m.LAST_COMPLETE_PERIOD) == 2026 * 12 + 10
    assert metrics.value("acme", "backup", m.RUNS_DELETED) == 0


def test_a_second_backup_publishes_the_previous_size_of_each_database():
    world = World()
    metrics = InMemoryMetrics()
    run_backup(world, metrics)
    first = metrics.value("acme", "backup", m.DATABASE_BYTES, database="sales")
    world.clock.advance(timedelta(days=31))
    run_backup(world, metrics)
    assert metrics.value("acme", "backup", m.DATABASE_PREVIOUS_BYTES, database="sales") == first


def test_a_backup_with_a_failed_database_keeps_the_last_complete_period():
    world = World()
    metrics = InMemoryMetrics()
    run_backup(world, metrics)
    world.clock.advance(timedelta(days=31))
    world.dumper.broken = {"hr": "connection reset"}
    run_backup(world, metrics)
    assert world.exit.code == 1
    assert metrics.value("acme", "backup", m.DATABASE_OK, database="hr") == 0
    assert metrics.value("acme", "backup", m.FAILURES) == 1
    assert metrics.value("acme", "backup", m.LAST_COMPLETE_PERIOD) == 2026 * 12 + 10


def test_a_backup_whose_config_is_unreadable_publishes_only_the_job_metrics():
    world = World(values={"client-name": "acme"})
    metrics = InMemoryMetrics()
    run_backup(world, metrics)
    assert world.exit.code == 1
    assert metrics.value("acme", "backup", m.FAILURES) == 1
    assert metrics.value("acme", "backup", m.DATABASE_OK) is None
    assert metrics.value("acme", "backup", m.KEY_EXPIRY) is None


def test_a_check_publishes_the_expiry_of_both_keys():
    expires = datetime(2027, 3, 1, tzinfo=UTC)
    world = CheckWorld(encryptor=InMemoryEncryptor(expires=expires))
    metrics = InMemoryMetrics()
    DynamicMountingEndPoint(
        mount=world.mount,
        job=world.check_machine,
        console=world.console,
        exit=world.exit,
        observer=JobMetricsRecorder(metrics=metrics, clock=world.clock, client="acme", job="check"),
    ).execute()
    assert metrics.value("acme", "check", m.KEY_EXPIRY, key="encryption") == expires.timestamp()
    assert metrics.value("acme", "check", m.FAILURES) == world.exit.code


def test_retention_publishes_how_many_runs_it_deleted():
    from adapters.memory.task_runner import SerialTaskRunner
    from domain.machines.retention import RetentionOptions, RetentionPorts
    from domain.machines.retention_job import RetentionClientMachine

    world = World(now=at(2029, 11))
    seed_run(world.share, at(2026, 2))
    seed_run(world.share, at(2029, 10))
    metrics = InMemoryMetrics()

    def retention(context):
        return RetentionClientMachine(
            context,
            ports=RetentionPorts(
                clock=world.clock, runner=SerialTaskRunner(), console=world.console
            ),
            options=RetentionOptions(),
            lock_owner="test",
            share_lock_max_age=timedelta(hours=1),
        )

    DynamicMountingEndPoint(
        mount=world.mount,
        job=retention,
        console=world.console,
        exit=world.exit,
        observer=JobMetricsRecorder(
            metrics=metrics, clock=world.clock, client="acme", job="retention"
        ),
    ).execute()
    assert world.exit.code == 0, world.console.lines
    assert metrics.value("acme", "retention", m.RUNS_DELETED) == 1
