"""End points: stdout lines, exit codes, the cap, the critical path."""

from adapters.memory.console import RecordingConsole
from adapters.memory.exit import RecordingExit
from domain.framework.definition import node
from domain.framework.endpoints import MAX_EXIT_CODE, EndPoint
from domain.framework.machine import Machine, Step
from domain.models.redaction import Redactor


class Failing(Machine):
    """Fails `count` times through a loop of one node."""

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count

    @property
    def prefix(self) -> str:
        return "acme"

    @node(entry=True, happy=("report_results",), unhappy=("again",), on_exception="again")
    def attempt(self) -> Step:
        if self.count == 0:
            return self.success(self.report_results)
        self.count -= 1
        return self.failure(self.again, f"failure {self.count}")

    @node(happy=("attempt",), on_exception="report_results", unhappy=("report_results",))
    def again(self) -> Step:
        return self.success(self.attempt)


def run(machine_factory, redactor=None):
    console, exit_ = RecordingConsole(), RecordingExit()
    EndPoint(machine=machine_factory, console=console, exit=exit_, redactor=redactor).execute()
    return console.lines, exit_.code


def test_a_clean_run_prints_only_the_summary_and_exits_zero():
    lines, code = run(lambda: Failing(0))
    assert lines == ["Failing: 1 ok, 0 failed"]
    assert code == 0


def test_each_failure_is_one_line_and_the_exit_code_counts_them():
    lines, code = run(lambda: Failing(2))
    assert lines == [
        "Failure: attempt acme failure 1",
        "Failure: attempt acme failure 0",
        "Failing: 3 ok, 2 failed",
    ]
    assert code == 2


def test_the_exit_code_is_capped_at_100_and_never_wraps_to_zero():
    lines, code = run(lambda: Failing(256))
    assert code == MAX_EXIT_CODE
    assert len([line for line in lines if line.startswith("Failure: ")]) == 256


def test_an_exception_out_of_the_machine_is_a_critical_failure_exiting_one(caplog):
    def broken():
        raise RuntimeError("container could not be built")

    lines, code = run(broken)
    assert lines == ["Critical failure: container could not be built"]
    assert code == 1
    assert "Traceback" in caplog.text


def test_printed_lines_never_show_a_known_secret():
    redactor = Redactor(["hunter2-secret"])

    def leaky():
        raise RuntimeError("login with hunter2-secret refused")

    lines, code = run(leaky, redactor)
    assert lines == ["Critical failure: login with ***** refused"]
    assert code == 1
