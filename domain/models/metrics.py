"""What a job measured, and the metric families it becomes (SPEC section 16, metrics).

A job's end point hands its machine's `JobMeasurements` (through the `Measured` protocol) and
the job's outcome to the metrics recorder; `domain.rules.metrics` turns them into
`MetricFamily` values; a `Metrics` adapter stores them (the node_exporter textfile format).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable


class MetricType(StrEnum):
    """The Prometheus metric types the jobs write."""

    GAUGE = "gauge"


@dataclass(frozen=True, slots=True)
class Sample:
    """One sample: its labels (in order) and its value."""

    labels: tuple[tuple[str, str], ...]
    value: float


@dataclass(frozen=True, slots=True)
class MetricFamily:
    """A metric: name, HELP text, TYPE, and its samples."""

    name: str
    help: str
    type: MetricType
    samples: tuple[Sample, ...]


@dataclass(frozen=True, slots=True)
class DatabaseMeasure:
    """One database's dump in a backup run: size, time taken, status, the previous size."""

    name: str
    bytes: int
    seconds: float
    ok: bool
    previous_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class KeyExpiry:
    """A key the job used: which (`encryption`, `escrow`), its fingerprint, its expiry."""

    key: str
    fingerprint: str
    expires: datetime | None
    """None: the key never expires."""


@dataclass(frozen=True, slots=True)
class JobMeasurements:
    """What a job's machine measured besides its results (empty for most jobs)."""

    databases: tuple[DatabaseMeasure, ...] = ()
    keys: tuple[KeyExpiry, ...] = ()
    complete_period: int | None = None
    """The period month (year * 12 + month - 1) of the complete run this job published."""
    runs_deleted: int | None = None
    """How many runs retention deleted (backup and retention jobs)."""
    extra: tuple[MetricFamily, ...] = field(default=())
    """Job-specific families (the report's client counts, say)."""


@runtime_checkable
class Measured(Protocol):
    """A machine that has measurements to publish besides its results."""

    def measurements(self) -> JobMeasurements:
        """Return what the run measured so far (also when it broke half-way)."""


@dataclass(frozen=True, slots=True)
class JobOutcome:
    """How a job run ended: when it started and ended, its failures, whether it broke."""

    client: str
    job: str
    started: datetime
    finished: datetime
    failures: int
    critical: bool = False

    @property
    def succeeded(self) -> bool:
        """Tell whether the run ended with no failure at all."""
        return self.failures == 0 and not self.critical
