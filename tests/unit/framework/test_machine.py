"""Run-time behaviour of machines: order, results, exceptions, child results."""

import pytest

from domain.framework.definition import LET_THROUGH, node
from domain.framework.machine import Machine, MachineRuntimeError, Step
from domain.framework.results import Failure, Success
from ports.errors import ShareFullError


class Pipeline(Machine):
    """A three-node machine whose behaviour each test sets."""

    def __init__(self, *, fail_at=None, raise_at=None, error=None, children=None):
        super().__init__()
        self.fail_at = fail_at
        self.raise_at = raise_at
        self.error = error or ValueError("boom")
        self.children = children or []
        self.cleaned = False

    @property
    def prefix(self):
        return "acme db1"

    def _maybe(self, name):
        if self.raise_at == name:
            raise self.error

    @node(entry=True, happy=("work",), unhappy=("cleanup",), on_exception="cleanup")
    def start(self) -> Step:
        self._maybe("start")
        if self.fail_at == "start":
            return self.failure(self.cleanup, "could not start")
        return self.success(self.work)

    @node(happy=("cleanup",), unhappy=("cleanup",), on_exception="cleanup")
    def work(self) -> Step:
        for child in self.children:
            self.add_results(child.execute())
        self._maybe("work")
        if self.fail_at == "work":
            return self.failure(self.cleanup, "work failed")
        return self.success(self.cleanup)

    @node(happy=("report_results",), unhappy=("report_results",), on_exception="report_results")
    def cleanup(self) -> Step:
        self.cleaned = True
        self._maybe("cleanup")
        return self.success(self.report_results)


def test_a_happy_run_has_one_success_per_node_in_order():
    assert Pipeline().execute() == [Success("start"), Success("work"), Success("cleanup")]


def test_a_failure_is_recorded_with_the_prefix_and_cleanup_still_runs():
    machine = Pipeline(fail_at="start")
    assert machine.execute() == [Failure("start", "acme db1 could not start"), Success("cleanup")]
    assert machine.cleaned


def test_an_unexpected_exception_becomes_an_unrecognized_exception_failure():
    results = Pipeline(raise_at="work").execute()
    assert results == [
        Success("start"),
        Failure("work", "acme db1 unrecognized exception: boom"),
        Success("cleanup"),
    ]


def test_a_known_error_reads_as_itself():
    results = Pipeline(raise_at="work", error=ShareFullError("no space left on share")).execute()
    assert results[1] == Failure("work", "acme db1 no space left on share")


def test_an_exception_without_text_is_named_by_its_type():
    results = Pipeline(raise_at="start", error=KeyError()).execute()
    assert results[0] == Failure("start", "acme db1 unrecognized exception: KeyError")


def test_a_failing_cleanup_node_still_ends_the_run():
    results = Pipeline(raise_at="cleanup").execute()
    assert [type(r).__name__ for r in results] == ["Success", "Success", "Failure"]


def test_child_results_land_before_the_invoking_node():
    children = [Pipeline(fail_at="work"), Pipeline()]
    results = Pipeline(children=children).execute()
    assert [r.node for r in results] == [
        "start",
        "start",
        "work",
        "cleanup",
        "start",
        "work",
        "cleanup",
        "work",
        "cleanup",
    ]
    assert results[2] == Failure("work", "acme db1 work failed")


def test_child_results_are_kept_when_the_invoking_node_raises_afterwards():
    results = Pipeline(children=[Pipeline()], raise_at="work").execute()
    assert [r.node for r in results] == ["start", "start", "work", "cleanup", "work", "cleanup"]
    assert isinstance(results[4], Failure)


class Liar(Machine):
    def __init__(self, mode):
        super().__init__()
        self.mode = mode

    @node(
        entry=True, happy=("next_step",), unhappy=("report_results",), on_exception="report_results"
    )
    def start(self) -> Step:
        if self.mode == "success-by-unhappy":
            return self.success(self.report_results)
        if self.mode == "failure-by-happy":
            return self.failure(self.next_step, "x")
        if self.mode == "not-a-step":
            return None  # type: ignore[return-value]
        return self.success(self.next_step)

    @node(happy=("report_results",), on_exception=LET_THROUGH)
    def next_step(self) -> Step:
        raise RuntimeError("let through")


def test_a_success_by_an_unhappy_exit_is_a_runtime_error():
    with pytest.raises(MachineRuntimeError, match="Success to 'report_results'"):
        Liar("success-by-unhappy").execute()


def test_a_failure_by_a_happy_exit_is_a_runtime_error():
    with pytest.raises(MachineRuntimeError, match="Failure to 'next_step'"):
        Liar("failure-by-happy").execute()


def test_a_node_that_returns_no_step_is_a_runtime_error():
    with pytest.raises(MachineRuntimeError, match="instead of a Step"):
        Liar("not-a-step").execute()


def test_a_let_through_node_propagates_its_exception():
    with pytest.raises(RuntimeError, match="let through"):
        Liar("ok").execute()


def test_a_machine_can_run_twice_with_fresh_results():
    machine = Pipeline()
    assert machine.execute() == machine.execute()


def test_node_start_and_end_are_logged_with_runtime(caplog):
    caplog.set_level("INFO", logger="lts.machine")
    Pipeline().execute()
    messages = [r.getMessage() for r in caplog.records]
    assert "start Pipeline.start" in messages
    assert any(m.startswith("end Pipeline.work: ok -> cleanup in ") for m in messages)
