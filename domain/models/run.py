"""Run identity and placement: RunId, Tier and Period (SPEC section 7)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import PurePosixPath

RUN_ID_FORMAT = "%Y%m%dT%H%M%SZ"
RUN_ID_PATTERN = re.compile(r"^[0-9]{8}T[0-9]{6}Z$")
PARTIAL_SUFFIX = ".partial"


class Tier(StrEnum):
    """The two retention tiers, named as their folders on the share."""

    END_OF_MONTH = "end-of-month"
    END_OF_YEAR = "end-of-year"


@dataclass(frozen=True, slots=True, order=True)
class RunId:
    """A run's identity: its UTC start time, written `YYYYMMDDTHHMMSSZ`."""

    started: datetime

    def __post_init__(self) -> None:
        if self.started.tzinfo is None:
            raise ValueError("a RunId needs a timezone-aware time")

    @classmethod
    def at(cls, moment: datetime) -> RunId:
        """Return the run id of a run started at `moment` (any timezone), to the second."""
        return cls(moment.astimezone(UTC).replace(microsecond=0))

    @classmethod
    def parse(cls, text: str) -> RunId:
        """Parse `YYYYMMDDTHHMMSSZ`; raise ValueError for anything else."""
        if not RUN_ID_PATTERN.match(text):
            raise ValueError(f"not a run id: {text!r}")
        return cls(datetime.strptime(text, RUN_ID_FORMAT).replace(tzinfo=UTC))

    def __str__(self) -> str:
        return self.started.strftime(RUN_ID_FORMAT)


@dataclass(frozen=True, slots=True)
class Period:
    """Where a run is filed: its tier and the period folder (`YYYY-MM` or `FYYYYY`)."""

    tier: Tier
    label: str
    year: int
    month: int

    @property
    def folder(self) -> str:
        """Return the folder of this period relative to the share root."""
        return f"{self.tier}/{self.label}"


@dataclass(frozen=True, slots=True)
class RunPlace:
    """Where a run goes: its start, tier and period, and its id."""

    started: datetime
    period: Period
    run_id: RunId

    @property
    def partial_dir(self) -> PurePosixPath:
        """Return the directory the run is built in."""
        return PurePosixPath(self.period.folder, f"{self.run_id}{PARTIAL_SUFFIX}")

    @property
    def final_dir(self) -> PurePosixPath:
        """Return the directory the run is published as."""
        return PurePosixPath(self.period.folder, str(self.run_id))


@dataclass(frozen=True, slots=True, order=True)
class StoredRun:
    """A run directory on the share: published, or `partial` debris of an unfinished run."""

    run_id: RunId
    tier: Tier
    period: str
    partial: bool = False

    @property
    def path(self) -> PurePosixPath:
        """Return the run's directory relative to the share root."""
        name = f"{self.run_id}{PARTIAL_SUFFIX}" if self.partial else str(self.run_id)
        return PurePosixPath(self.tier, self.period, name)
