"""FixedClock: a time that moves only when a test moves it."""

from __future__ import annotations

from datetime import datetime, timedelta

from ports.clock import Clock


class FixedClock(Clock):
    """Returns a fixed time, moved only by `advance`."""

    def __init__(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware time")
        self.moment = moment

    def now(self) -> datetime:
        """Return the fixed time."""
        return self.moment

    def advance(self, delta: timedelta) -> None:
        """Move the clock."""
        self.moment += delta
