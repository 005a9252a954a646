"""The Clock port on the system clock."""

from __future__ import annotations

from datetime import UTC, datetime

from ports.clock import Clock


class SystemClock(Clock):
    """Reads the system's current time, in UTC."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware (UTC)."""
        return datetime.now(UTC)
