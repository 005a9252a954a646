"""The end point tells the metrics recorder how every run ended, whatever ended it."""

from datetime import UTC, datetime

import pytest

from adapters.memory.clock import FixedClock
from adapters.memory.console import RecordingConsole
from adapters.memory.exit import RecordingExit
from adapters.memory.metrics import InMemoryMetrics
from domain.framework.definition import node
from domain.framework.endpoints import EndPoint
from domain.framework.machine import Machine, Step
from domain.framework.stop import STOP, StopReason
from domain.models.metrics import DatabaseMeasure, JobMeasurements
from domain.rules import metrics as m
from domain.services.job_metrics import JobMetricsRecorder
from ports.errors import MetricsError

NOW = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)


class Job(Machine):
    """Fails `failures` times, or raises `error`; measures one database."""

    def __init__(self, failures: int = 0, error: BaseException | None = None) -> None:
        super().__init__()
        self.failures = failures
        self.error = error

    @property
    def prefix(self) -> str:
        return "acme"

    @node(
        entry=True,
        happy=("report_results",),
        unhappy=("report_results",),
        on_exception="report_results",
    )
    def work(self) -> Step:
        if self.error is not None:
            raise self.error
        if self.failures:
            return self.failure(self.report_results, "broke")
        return self.success(self.report_results)

    def measurements(self) -> JobMeasurements:
        return JobMeasurements(databases=(DatabaseMeasure("sales", 300, 2.0, True),))


def run(factory, metrics=None):
    metrics = metrics if metrics is not None else InMemoryMetrics()
    console, exit_ = RecordingConsole(), RecordingExit()
    recorder = JobMetricsRecorder(
        metrics=metrics, clock=FixedClock(NOW), client="acme", job="backup"
    )
    EndPoint(machine=factory, console=console, exit=exit_, observer=recorder).execute()
    return metrics, console.lines, exit_.code


def test_a_clean_run_publishes_the_job_and_the_machine_measurements():
    metrics, lines, code = run(Job)
    assert code == 0
    assert metrics.value("acme", "backup", m.FAILURES) == 0
    assert metrics.value("acme", "backup", m.LAST_SUCCESS) == NOW.timestamp()
    assert metrics.value("acme", "backup", m.DATABASE_BYTES, database="sales") == 300
    assert lines == ["Job: 1 ok, 0 failed"]


def test_a_failed_run_publishes_its_failures_and_keeps_the_last_success():
    metrics = InMemoryMetrics()
    run(Job, metrics)
    earlier = metrics.value("acme", "backup", m.LAST_SUCCESS)
    run(lambda: Job(failures=1), metrics)
    assert metrics.value("acme", "backup", m.FAILURES) == 1
    assert metrics.value("acme", "backup", m.LAST_SUCCESS) == earlier


def test_a_critical_failure_is_published_as_critical():
    def broken():
        raise RuntimeError("cannot build")

    metrics, lines, code = run(broken)
    assert code == 1
    assert lines == ["Critical failure: cannot build"]
    assert metrics.value("acme", "backup", m.CRITICAL) == 1
    assert metrics.value("acme", "backup", m.FAILURES) == 1


def test_a_run_stopped_by_a_base_exception_is_published_as_critical_and_the_stop_goes_on():
    # A signal handler that raises (KeyboardInterrupt, SystemExit) must still leave metrics.
    metrics = InMemoryMetrics()
    with pytest.raises(KeyboardInterrupt):
        run(lambda: Job(error=KeyboardInterrupt()), metrics)
    assert metrics.value("acme", "backup", m.CRITICAL) == 1
    assert metrics.value("acme", "backup", m.DATABASE_BYTES, database="sales") == 300


def test_metrics_that_cannot_be_written_are_one_more_failure_line_and_exit_code():
    metrics = InMemoryMetrics(error=MetricsError("the metrics directory /nope does not exist"))
    _, lines, code = run(lambda: Job(failures=1), metrics)
    assert code == 2
    assert lines[-1] == (
        "Failure: write_metrics acme cannot write the job's metrics: "
        "the metrics directory /nope does not exist"
    )


def test_metrics_that_cannot_be_written_after_a_critical_failure_keep_exit_one():
    def broken():
        raise RuntimeError("cannot build")

    _, lines, code = run(broken, InMemoryMetrics(error=MetricsError("no directory")))
    assert code == 1
    assert lines == ["Critical failure: cannot build"]


def test_a_measurements_method_that_breaks_still_leaves_the_job_metrics():
    class Broken(Job):
        def measurements(self) -> JobMeasurements:
            raise RuntimeError("half-way")

    metrics, _, code = run(Broken)
    assert code == 0
    assert metrics.value("acme", "backup", m.FAILURES) == 0
    assert metrics.value("acme", "backup", m.DATABASE_BYTES) is None


class Stopped(Job):
    """Asked to stop (a SIGTERM, SPEC 15) while its one node runs."""

    def work(self) -> Step:
        STOP.request(StopReason("SIGTERM", 143))
        return super().work()


@pytest.fixture
def stop_cleared():
    STOP.clear()
    yield
    STOP.clear()


@pytest.mark.usefixtures("stop_cleared")
def test_a_stopped_run_prints_its_one_line_and_is_published_as_critical():
    metrics, lines, code = run(Stopped)
    assert code == 143
    assert lines == ["Critical failure: terminated by signal SIGTERM"]
    assert metrics.value("acme", "backup", m.CRITICAL) == 1
    assert metrics.value("acme", "backup", m.FAILURES) == 1
    assert metrics.value("acme", "backup", m.LAST_SUCCESS) is None
    assert metrics.value("acme", "backup", m.DATABASE_BYTES, database="sales") == 300


@pytest.mark.usefixtures("stop_cleared")
def test_metrics_that_cannot_be_written_after_a_stop_add_no_line_and_keep_the_status(caplog):
    _, lines, code = run(Stopped, InMemoryMetrics(error=MetricsError("no directory")))
    assert code == 143
    assert lines == ["Critical failure: terminated by signal SIGTERM"]
    assert "Failure: write_metrics acme cannot write the job's metrics: no directory" in caplog.text
