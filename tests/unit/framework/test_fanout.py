"""Fan-out keeps the children's order and isolates a broken child."""

import time
from concurrent.futures import ThreadPoolExecutor

from adapters.memory.task_runner import SerialTaskRunner
from domain.framework.definition import LET_THROUGH, node
from domain.framework.fanout import fan_out
from domain.framework.machine import Machine, Step
from domain.framework.results import Failure, Success


class Child(Machine):
    def __init__(self, name, delay=0.0, explode=False):
        super().__init__()
        self.name = name
        self.delay = delay
        self.explode = explode

    @property
    def prefix(self):
        return self.name

    @node(
        entry=True, happy=("report_results",), unhappy=("report_results",), on_exception=LET_THROUGH
    )
    def work(self) -> Step:
        time.sleep(self.delay)
        if self.explode:
            raise RuntimeError("escaped")
        return (
            self.failure(self.report_results, "done")
            if self.name == "b"
            else self.success(self.report_results)
        )


class ThreadRunner(SerialTaskRunner):
    """A real pool, to show the order does not depend on completion order."""

    def map(self, function, items):
        with ThreadPoolExecutor(max_workers=len(items) or 1) as pool:
            return list(pool.map(function, items))


def test_results_come_back_in_the_childrens_order_whatever_finishes_first():
    children = [Child("a", 0.05), Child("b", 0.0), Child("c", 0.02)]
    assert fan_out(ThreadRunner(), children) == [
        Success("work"),
        Failure("work", "b done"),
        Success("work"),
    ]


def test_a_child_whose_exception_escapes_becomes_one_failure_and_others_still_run():
    children = [Child("x", explode=True), Child("a")]
    results = fan_out(SerialTaskRunner(), children)
    assert results == [Failure("work", "x unrecognized exception: escaped"), Success("work")]
