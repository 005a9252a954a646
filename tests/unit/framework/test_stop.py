"""A job asked to stop (SPEC 15): only clean-up nodes run, and the end point prints one line."""

import pytest

from adapters.memory.console import RecordingConsole
from adapters.memory.exit import RecordingExit
from domain.framework.definition import LET_THROUGH, MachineDefinitionError, node
from domain.framework.diagram import render_markdown
from domain.framework.endpoints import EndPoint
from domain.framework.machine import JobStoppedError, Machine, Step
from domain.framework.results import Failure, Success
from domain.framework.stop import STOP, StopReason, StopRequest
from tests.support.stopping import SIGTERM, no_stop, stop_during

__all__ = ["no_stop"]

pytestmark = pytest.mark.usefixtures("no_stop")


class Holding(Machine):
    """take -> work -> (release: clean-up) -> report; `failing` makes work fail."""

    def __init__(self, failing: bool = False) -> None:
        super().__init__()
        self.failing = failing
        self.ran: list[str] = []

    @property
    def prefix(self) -> str:
        return "acme"

    @node(entry=True, happy=("work",), unhappy=("report_results",), on_exception="report_results")
    def take(self) -> Step:
        self.ran.append("take")
        return self.success(self.work)

    @node(happy=("release",), unhappy=("release",), on_exception="release")
    def work(self) -> Step:
        self.ran.append("work")
        if self.failing:
            return self.failure(self.release, "killed child")
        return self.success(self.release)

    @node(
        happy=("report_results",),
        unhappy=("report_results",),
        on_exception="report_results",
        cleanup=True,
    )
    def release(self) -> Step:
        self.ran.append("release")
        return self.success(self.report_results)


class Letting(Machine):
    """An entry node that lets exceptions through."""

    @node(entry=True, happy=("report_results",), on_exception=LET_THROUGH)
    def only(self) -> Step:
        return self.success(self.report_results)


def test_a_clean_up_node_is_declared_as_such():
    assert Holding.nodes["release"].cleanup
    assert not Holding.nodes["work"].cleanup


def test_a_terminal_node_cannot_be_a_clean_up_node():
    with pytest.raises(MachineDefinitionError, match="cannot be a clean-up node"):

        class Wrong(Machine):
            @node(entry=True, happy=("report_results",), on_exception=LET_THROUGH)
            def start(self) -> Step:
                return self.success(self.report_results)

            @node(terminal=True, cleanup=True)
            def report_results(self) -> None:
                """End."""


def test_once_stopped_only_clean_up_nodes_run_and_the_others_leave_by_their_exception_exit():
    STOP.request(SIGTERM)
    machine = Holding()
    results = machine.execute()
    assert machine.ran == []
    assert results == [Failure("take", "acme not run: the job was terminated by signal SIGTERM")]


def test_a_stop_during_a_node_lets_it_end_then_runs_only_the_clean_up(monkeypatch):
    stop_during(monkeypatch, Holding, "take")
    machine = Holding()
    results = machine.execute()
    assert machine.ran == ["take", "release"]
    assert results == [
        Success("take"),
        Failure("work", "acme not run: the job was terminated by signal SIGTERM"),
        Success("release"),
    ]


def test_a_node_that_lets_exceptions_through_raises_job_stopped():
    STOP.request(SIGTERM)
    with pytest.raises(JobStoppedError, match="terminated by signal SIGTERM"):
        Letting().execute()


def test_the_first_stop_request_wins_and_clear_forgets_it():
    stop = StopRequest()
    assert stop.request(StopReason("SIGINT", 130))
    assert not stop.request(StopReason("SIGTERM", 143))
    assert stop.reason == StopReason("SIGINT", 130)
    stop.clear()
    assert stop.reason is None


def test_a_stop_never_exits_zero():
    with pytest.raises(ValueError, match="non-zero"):
        StopReason("SIGTERM", 0)


def end_point(factory):
    console, exit_ = RecordingConsole(), RecordingExit()
    EndPoint(machine=factory, console=console, exit=exit_).execute()
    return console.lines, exit_.code


def test_a_stopped_job_prints_one_critical_line_and_exits_with_the_signal_status(monkeypatch):
    stop_during(monkeypatch, Holding, "work")
    lines, code = end_point(lambda: Holding(failing=True))
    assert lines == ["Critical failure: terminated by signal SIGTERM"]
    assert code == 143


def test_a_stop_before_the_machine_runs_is_the_same_one_line(monkeypatch):
    STOP.request(StopReason("SIGHUP", 129))
    lines, code = end_point(Holding)
    assert (lines, code) == (["Critical failure: terminated by signal SIGHUP"], 129)


def test_a_machine_that_breaks_while_stopping_still_prints_only_the_stop(monkeypatch):
    def broken():
        STOP.request(StopReason("SIGINT", 130))
        raise RuntimeError("a child's pipe broke")

    lines, code = end_point(broken)
    assert (lines, code) == (["Critical failure: terminated by signal SIGINT"], 130)


def test_without_a_stop_the_end_point_is_unchanged():
    lines, code = end_point(lambda: Holding(failing=True))
    assert lines == ["Failure: work acme killed child", "Holding: 2 ok, 1 failed"]
    assert code == 1


def test_diagrams_mark_the_clean_up_nodes():
    page = render_markdown(Holding)
    assert "    class release cleanup" in page
    assert "| release (clean-up) | report_results |" in page
    assert "| work | release |" in page
