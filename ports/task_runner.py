"""The TaskRunner port: run independent tasks, possibly in parallel."""

from abc import abstractmethod
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class TaskRunner(Protocol):
    """Run a function over items in a worker pool and return results in the items' order.

    A task that raises does not stop the others; its exception is re-raised by `map` only after
    every task has finished (callers that must not lose results catch inside the task).
    """

    @abstractmethod
    def map(self, function: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """Return `[function(item) for item in items]`, computed by the pool."""
