"""Record every job run's metrics when its end point finishes (SPEC section 16, metrics).

The end point tells `JobMetricsRecorder` when the job starts and how it ended, whatever ended it
(results, a critical failure, a signal); the recorder asks the machine what it measured (the
`Measured` protocol: a backup's databases and keys), reads the two values a failed run keeps
from the previous set, and publishes the job's new set through the Metrics port.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime

from domain.framework.machine import Machine, describe
from domain.models.manifest import DumpRecord, DumpStatus
from domain.models.metrics import (
    DatabaseMeasure,
    JobMeasurements,
    JobOutcome,
    KeyExpiry,
    Measured,
)
from domain.models.run import Period
from domain.rules.metrics import KEPT, job_families
from ports.clock import Clock
from ports.encryptor import RecipientInfo
from ports.errors import LtsError
from ports.metrics import Metrics

logger = logging.getLogger("lts.metrics")


class JobMetricsRecorder:
    """Publish one client job's metrics at the end of its run (a JobObserver)."""

    def __init__(self, *, metrics: Metrics, clock: Clock, client: str, job: str) -> None:
        self._metrics = metrics
        self._clock = clock
        self._client = client
        self._job = job
        self._started: datetime | None = None

    def job_started(self) -> None:
        """Note the start time."""
        self._started = self._clock.now()

    def job_ended(self, machine: Machine | None, failures: int, critical: bool) -> str | None:
        """Publish the run's metrics; return a failure message when they cannot be stored."""
        finished = self._clock.now()
        outcome = JobOutcome(
            client=self._client,
            job=self._job,
            started=self._started or finished,
            finished=finished,
            failures=failures,
            critical=critical,
        )
        measured = _measurements(machine)
        try:
            previous = self._metrics.previous(self._client, self._job, KEPT)
            families = job_families(outcome, measured, previous)
            self._metrics.publish(self._client, self._job, families)
        except LtsError as exc:
            return f"{self._client} cannot write the job's metrics: {describe(exc)}"
        return None


def _measurements(machine: object) -> JobMeasurements:
    # Typed `object`: mypy cannot picture a Machine subclass that is also Measured.
    if not isinstance(machine, Measured):
        return JobMeasurements()
    try:
        return machine.measurements()
    except Exception:
        # A machine that broke half-way may not know its measurements; the job's own
        # metrics (last run, failures) must still be written.
        logger.exception("the machine's measurements cannot be read")
        return JobMeasurements()


def key_expiries(info: RecipientInfo) -> tuple[KeyExpiry, ...]:
    """Return the expiry of the keys a job loaded: the client's key and the escrow key."""
    keys = [KeyExpiry("encryption", info.fingerprint, info.expires)]
    if info.escrow_fingerprint:
        keys.append(KeyExpiry("escrow", info.escrow_fingerprint, info.escrow_expires))
    return tuple(keys)


def backup_measurements(
    *,
    records: Sequence[DumpRecord],
    previous_bytes: Mapping[str, int],
    keys: RecipientInfo | None,
    period: Period | None,
    runs_deleted: int,
) -> JobMeasurements:
    """Return what a backup run measured.

    Args:
        records: the manifest entry of every database dumped so far.
        previous_bytes: each database's size in the previous run.
        keys: the loaded keys, if they were loaded.
        period: the run's period, when the run was published.
        runs_deleted: how many runs retention deleted after the backup.
    """
    databases = tuple(
        DatabaseMeasure(
            name=record.name,
            bytes=record.bytes,
            seconds=max((record.finished - record.started).total_seconds(), 0.0),
            ok=record.status is DumpStatus.OK,
            previous_bytes=previous_bytes.get(record.name),
        )
        for record in records
    )
    complete = period is not None and all(database.ok for database in databases)
    return JobMeasurements(
        databases=databases,
        keys=key_expiries(keys) if keys is not None else (),
        complete_period=period.year * 12 + period.month - 1 if complete and period else None,
        runs_deleted=runs_deleted,
    )
