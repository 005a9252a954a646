"""The Clock port: the current time."""

from abc import abstractmethod
from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    """A source of timezone-aware current time."""

    @abstractmethod
    def now(self) -> datetime:
        """Return the current time, timezone-aware (UTC)."""
