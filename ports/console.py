"""The Console port: the job's standard output, read by the scheduler."""

from abc import abstractmethod
from typing import Protocol


class Console(Protocol):
    """Where the scheduler-facing lines go: Failure lines, Critical failure, the summary.

    Never give it a secret: what is printed is kept in the scheduler's job history.
    """

    @abstractmethod
    def print(self, line: str) -> None:
        """Write one line."""
