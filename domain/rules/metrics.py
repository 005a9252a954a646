"""Which metrics a job run writes, with which labels and values (SPEC section 16, metrics).

Pure: a run's outcome and measurements, and the values its previous run left, become metric
families. Every job writes the `lts_job_*` families; a backup adds one sample per database,
backup and check the keys' expiry. Two values carry over from the previous file when this run
did not renew them: the last success time and the newest complete backup period, so a failing
run never makes an alert forget the last good one. Times are Unix seconds, as Prometheus wants.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from domain.models.metrics import (
    JobMeasurements,
    JobOutcome,
    MetricFamily,
    MetricType,
    Sample,
)

LAST_RUN = "lts_job_last_run_timestamp_seconds"
LAST_SUCCESS = "lts_job_last_success_timestamp_seconds"
DURATION = "lts_job_duration_seconds"
FAILURES = "lts_job_failures"
CRITICAL = "lts_job_critical_failure"
DATABASE_BYTES = "lts_backup_database_bytes"
DATABASE_PREVIOUS_BYTES = "lts_backup_database_previous_bytes"
DATABASE_DURATION = "lts_backup_database_duration_seconds"
DATABASE_OK = "lts_backup_database_ok"
LAST_COMPLETE_PERIOD = "lts_backup_last_complete_period_months"
KEY_EXPIRY = "lts_key_expiry_timestamp_seconds"
RUNS_DELETED = "lts_retention_deleted_runs"

KEPT = (LAST_SUCCESS, LAST_COMPLETE_PERIOD)
"""The families whose value is carried over from the previous file when this run has none."""

HELP: Mapping[str, str] = {
    LAST_RUN: "Start of the job's last run, in Unix seconds.",
    LAST_SUCCESS: "Start of the job's last run that ended without any failure, in Unix seconds "
    "(kept from earlier runs while runs fail).",
    DURATION: "How long the job's last run took, in seconds.",
    FAILURES: "Failures of the job's last run (its Failure lines; 1 for a critical failure).",
    CRITICAL: "1 when the job's last run ended in a critical failure (or was stopped by a "
    "signal), else 0.",
    DATABASE_BYTES: "Stored (compressed, encrypted) size of the database's dump in the last "
    "backup run, in bytes.",
    DATABASE_PREVIOUS_BYTES: "Stored size of the same database's dump in the run before, in bytes.",
    DATABASE_DURATION: "How long dumping, encrypting and storing the database took in the last "
    "backup run, in seconds.",
    DATABASE_OK: "1 when the database's dump in the last backup run is usable (status ok), else 0.",
    LAST_COMPLETE_PERIOD: "Period month of the newest complete run the backup job published, as "
    "year * 12 + month - 1 (kept from earlier runs).",
    KEY_EXPIRY: "When the key stops encrypting, in Unix seconds (+Inf: never).",
    RUNS_DELETED: "Runs retention deleted in the job's last run.",
}
"""HELP texts: one per family, the same in every file (node_exporter refuses differing ones)."""


def job_families(
    outcome: JobOutcome, measured: JobMeasurements, previous: Mapping[str, float]
) -> list[MetricFamily]:
    """Return the metric families of one job run.

    Args:
        outcome: how the run ended.
        measured: what its machine measured (databases, keys, the complete period).
        previous: the values of the KEPT families in the file the previous run wrote.
    """
    base = (("client", outcome.client), ("job", outcome.job))
    started = outcome.started.timestamp()
    values: dict[str, float | None] = {
        LAST_RUN: started,
        LAST_SUCCESS: started if outcome.succeeded else previous.get(LAST_SUCCESS),
        DURATION: max((outcome.finished - outcome.started).total_seconds(), 0.0),
        FAILURES: float(max(outcome.failures, 1 if outcome.critical else 0)),
        CRITICAL: 1.0 if outcome.critical else 0.0,
    }
    families = [
        _family(name, [Sample(base, value)]) for name, value in values.items() if value is not None
    ]
    families += _database_families(base, measured)
    complete = measured.complete_period
    if complete is None and LAST_COMPLETE_PERIOD in previous:
        complete = int(previous[LAST_COMPLETE_PERIOD])
    if complete is not None:
        families.append(_family(LAST_COMPLETE_PERIOD, [Sample(base, float(complete))]))
    if measured.keys:
        samples = [
            Sample(
                (*base, ("key", key.key), ("fingerprint", key.fingerprint)),
                key.expires.timestamp() if key.expires is not None else math.inf,
            )
            for key in measured.keys
        ]
        families.append(_family(KEY_EXPIRY, samples))
    if measured.runs_deleted is not None:
        families.append(_family(RUNS_DELETED, [Sample(base, float(measured.runs_deleted))]))
    families.extend(measured.extra)
    return families


def _database_families(
    base: tuple[tuple[str, str], ...], measured: JobMeasurements
) -> list[MetricFamily]:
    databases = measured.databases
    if not databases:
        return []

    def per_database(value: Sequence[float | None]) -> list[Sample]:
        return [
            Sample((*base, ("database", db.name)), number)
            for db, number in zip(databases, value, strict=True)
            if number is not None
        ]

    families = [
        _family(DATABASE_BYTES, per_database([float(db.bytes) for db in databases])),
        _family(DATABASE_DURATION, per_database([db.seconds for db in databases])),
        _family(DATABASE_OK, per_database([1.0 if db.ok else 0.0 for db in databases])),
    ]
    previous = per_database(
        [float(db.previous_bytes) if db.previous_bytes is not None else None for db in databases]
    )
    if previous:
        families.append(_family(DATABASE_PREVIOUS_BYTES, previous))
    return families


def _family(name: str, samples: Sequence[Sample]) -> MetricFamily:
    return MetricFamily(name, HELP[name], MetricType.GAUGE, tuple(samples))
