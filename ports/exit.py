"""The Exit port: how a job ends with its exit code."""

from abc import abstractmethod
from typing import Protocol


class Exit(Protocol):
    """End the process with a status code (0 = success); tests record it instead."""

    @abstractmethod
    def exit(self, code: int) -> None:
        """Exit with `code`."""
