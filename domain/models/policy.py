"""Small policy models the machines receive instead of the master settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class BackupPolicy:
    """How a backup run is placed and judged (from the master config and the command line)."""

    eoy_month: int
    timezone: str = "UTC"
    period_offset_months: int = 0
    exclude_everywhere: frozenset[str] = field(default_factory=frozenset)
    min_dump_bytes: int = 64
    shrink_warning_ratio: float = 0.5
    share_lock_max_age: timedelta = timedelta(hours=48)
    tool_version: str = "0"
