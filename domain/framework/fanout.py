"""Fan-out: run child machines in a worker pool, results in a deterministic order."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TypeVar

from domain.framework.machine import Machine, describe
from domain.framework.results import Failure, Result
from ports.task_runner import TaskRunner

logger = logging.getLogger("lts.fanout")

M = TypeVar("M", bound=Machine)


def fan_out(runner: TaskRunner, machines: Sequence[M]) -> list[Result]:
    """Run every machine through `runner` and return their results in the machines' order.

    One child that breaks (an exception that escapes its machine) becomes one Failure of its
    own and never stops or hides the others.
    """

    def run(machine: M) -> list[Result]:
        try:
            return machine.execute()
        except Exception as exc:
            logger.exception("child machine %s broke", type(machine).__name__)
            prefix = f"{machine.prefix} " if machine.prefix else ""
            return [Failure(machine.entry, f"{prefix}unrecognized exception: {describe(exc)}")]

    merged: list[Result] = []
    for results in runner.map(run, machines):
        merged.extend(results)
    return merged
