"""Which metric families a job run becomes: values, labels, what carries over."""

import math
from datetime import UTC, datetime, timedelta

from domain.models.metrics import DatabaseMeasure, JobMeasurements, JobOutcome, KeyExpiry
from domain.rules import metrics as m

START = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)


def outcome(failures=0, critical=False, seconds=90):
    return JobOutcome(
        "acme", "backup", START, START + timedelta(seconds=seconds), failures, critical
    )


def values(families):
    return {
        (
            family.name,
            tuple(label for label in sample.labels if label[0] not in ("client", "job")),
        ): (sample.value)
        for family in families
        for sample in family.samples
    }


def test_a_clean_run_writes_its_start_as_last_run_and_last_success():
    found = values(m.job_families(outcome(), JobMeasurements(), {}))
    assert found == {
        (m.LAST_RUN, ()): START.timestamp(),
        (m.LAST_SUCCESS, ()): START.timestamp(),
        (m.DURATION, ()): 90.0,
        (m.FAILURES, ()): 0.0,
        (m.CRITICAL, ()): 0.0,
    }


def test_every_sample_is_labelled_with_client_and_job_first():
    families = m.job_families(outcome(), JobMeasurements(), {})
    for family in families:
        assert family.help == m.HELP[family.name]
        for sample in family.samples:
            assert sample.labels[:2] == (("client", "acme"), ("job", "backup"))


def test_a_failed_run_keeps_the_last_success_of_the_previous_file():
    previous = {m.LAST_SUCCESS: 1_700_000_000.0}
    found = values(m.job_families(outcome(failures=3), JobMeasurements(), previous))
    assert found[(m.LAST_SUCCESS, ())] == 1_700_000_000.0
    assert found[(m.FAILURES, ())] == 3.0


def test_a_failed_first_run_has_no_last_success_at_all():
    found = values(m.job_families(outcome(failures=1), JobMeasurements(), {}))
    assert (m.LAST_SUCCESS, ()) not in found


def test_a_critical_failure_counts_as_one_failure_and_sets_the_critical_flag():
    found = values(m.job_families(outcome(critical=True), JobMeasurements(), {}))
    assert found[(m.FAILURES, ())] == 1.0
    assert found[(m.CRITICAL, ())] == 1.0
    assert (m.LAST_SUCCESS, ()) not in found


def test_a_backup_writes_size_time_status_and_previous_size_per_database():
    measured = JobMeasurements(
        databases=(
            DatabaseMeasure("sales", 300, 4.5, True, previous_bytes=280),
            DatabaseMeasure('we"ird\\name\n', 0, 0.25, False),
        )
    )
    found = values(m.job_families(outcome(), measured, {}))
    assert found[(m.DATABASE_BYTES, (("database", "sales"),))] == 300.0
    assert found[(m.DATABASE_DURATION, (("database", "sales"),))] == 4.5
    assert found[(m.DATABASE_OK, (("database", "sales"),))] == 1.0
    assert found[(m.DATABASE_PREVIOUS_BYTES, (("database", "sales"),))] == 280.0
    assert found[(m.DATABASE_OK, (("database", 'we"ird\\name\n'),))] == 0.0
    assert (m.DATABASE_PREVIOUS_BYTES, (("database", 'we"ird\\name\n'),)) not in found


def test_the_complete_period_is_written_when_measured_and_kept_otherwise():
    written = values(m.job_families(outcome(), JobMeasurements(complete_period=24322), {}))
    assert written[(m.LAST_COMPLETE_PERIOD, ())] == 24322.0
    kept = values(m.job_families(outcome(1), JobMeasurements(), {m.LAST_COMPLETE_PERIOD: 24321}))
    assert kept[(m.LAST_COMPLETE_PERIOD, ())] == 24321.0
    assert (m.LAST_COMPLETE_PERIOD, ()) not in values(
        m.job_families(outcome(1), JobMeasurements(), {})
    )


def test_key_expiry_is_a_timestamp_or_infinity_for_a_key_that_never_expires():
    expires = START + timedelta(days=30)
    measured = JobMeasurements(
        keys=(KeyExpiry("encryption", "F" * 40, expires), KeyExpiry("escrow", "E" * 40, None))
    )
    found = values(m.job_families(outcome(), measured, {}))
    key = (("key", "encryption"), ("fingerprint", "F" * 40))
    assert found[(m.KEY_EXPIRY, key)] == expires.timestamp()
    assert math.isinf(found[(m.KEY_EXPIRY, (("key", "escrow"), ("fingerprint", "E" * 40)))])


def test_retention_writes_how_many_runs_it_deleted():
    found = values(m.job_families(outcome(), JobMeasurements(runs_deleted=4), {}))
    assert found[(m.RUNS_DELETED, ())] == 4.0
