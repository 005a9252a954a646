"""SerialTaskRunner: tasks one after another, in order, for deterministic tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from ports.task_runner import TaskRunner

T = TypeVar("T")
R = TypeVar("R")


class SerialTaskRunner(TaskRunner):
    """Runs tasks one after another, in order; exceptions propagate after all tasks ran."""

    def map(self, function: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """Return `[function(item) for item in items]`."""
        results: list[R] = []
        first_error: Exception | None = None
        for item in items:
            try:
                results.append(function(item))
            except Exception as exc:  # noqa: BLE001 - a task failure must not stop the others
                first_error = first_error or exc
        if first_error is not None:
            raise first_error
        return results
