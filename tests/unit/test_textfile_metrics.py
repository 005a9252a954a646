"""The node_exporter textfile adapter: the exposition format, atomic 0644 files, carry-over.

Every file is parsed with the Prometheus client library's own parser.
"""

import math
import stat
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from adapters.os.metrics import TextfileMetrics, format_value, parse_values, render
from domain.models.metrics import DatabaseMeasure, JobMeasurements, JobOutcome, KeyExpiry
from domain.rules import metrics as m
from ports.errors import MetricsError

START = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)
TRICKY = ['sales "eu"', "back\\slash", "new\nline", "données clients"]


def families(failures=0):
    measured = JobMeasurements(
        databases=tuple(
            DatabaseMeasure(name, 1000 + i, 1.5, i != 1, previous_bytes=900)
            for i, name in enumerate(TRICKY)
        ),
        keys=(KeyExpiry("encryption", "F" * 40, None),),
        complete_period=24322,
    )
    outcome = JobOutcome("acme", "backup", START, START + timedelta(seconds=7), failures)
    return m.job_families(outcome, measured, {})


def parsed(text):
    return {family.name: family for family in text_string_to_metric_families(text)}


def test_the_file_parses_with_prometheus_own_parser_with_help_and_type():
    found = parsed(render(families()))
    assert set(found) == {
        m.LAST_RUN,
        m.LAST_SUCCESS,
        m.DURATION,
        m.FAILURES,
        m.CRITICAL,
        m.DATABASE_BYTES,
        m.DATABASE_DURATION,
        m.DATABASE_OK,
        m.DATABASE_PREVIOUS_BYTES,
        m.LAST_COMPLETE_PERIOD,
        m.KEY_EXPIRY,
    }
    for name, family in found.items():
        assert family.type == "gauge"
        assert family.documentation == m.HELP[name]


def test_label_values_with_quotes_backslashes_and_newlines_round_trip():
    found = parsed(render(families()))
    names = [sample.labels["database"] for sample in found[m.DATABASE_BYTES].samples]
    assert names == TRICKY
    ok = {s.labels["database"]: s.value for s in found[m.DATABASE_OK].samples}
    assert ok == {TRICKY[0]: 1.0, TRICKY[1]: 0.0, TRICKY[2]: 1.0, TRICKY[3]: 1.0}
    assert all(s.labels["client"] == "acme" for s in found[m.DATABASE_OK].samples)


def test_a_key_that_never_expires_is_written_as_plus_inf():
    assert "+Inf" in render(families())
    sample = parsed(render(families()))[m.KEY_EXPIRY].samples[0]
    assert math.isinf(sample.value)
    assert sample.labels["fingerprint"] == "F" * 40


def test_values_are_written_as_the_format_expects():
    assert format_value(3.0) == "3"
    assert format_value(1.5) == "1.5"
    assert format_value(math.inf) == "+Inf"
    assert format_value(-math.inf) == "-Inf"
    assert format_value(math.nan) == "NaN"


def test_publish_writes_one_0644_file_per_client_job_and_leaves_no_temporary(tmp_path):
    metrics = TextfileMetrics(tmp_path)
    metrics.publish("acme", "backup", families())
    path = tmp_path / "lts_acme_backup.prom"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["lts_acme_backup.prom"]
    assert m.LAST_RUN in parsed(path.read_text())


def test_publish_replaces_the_previous_file_whole(tmp_path):
    metrics = TextfileMetrics(tmp_path)
    metrics.publish("acme", "backup", families())
    metrics.publish("acme", "backup", families()[:1])
    assert set(parsed((tmp_path / "lts_acme_backup.prom").read_text())) == {m.LAST_RUN}


def test_previous_reads_only_the_samples_labelled_by_client_and_job(tmp_path):
    metrics = TextfileMetrics(tmp_path)
    metrics.publish("acme", "backup", families())
    previous = metrics.previous("acme", "backup", [m.LAST_SUCCESS, m.DATABASE_BYTES, m.LAST_RUN])
    assert previous == {m.LAST_SUCCESS: START.timestamp(), m.LAST_RUN: START.timestamp()}


def test_previous_of_a_missing_or_garbled_file_is_empty(tmp_path):
    metrics = TextfileMetrics(tmp_path)
    assert metrics.previous("acme", "backup", [m.LAST_SUCCESS]) == {}
    (tmp_path / "lts_acme_backup.prom").write_bytes(b"\xff\xfe garbage")
    assert metrics.previous("acme", "backup", [m.LAST_SUCCESS]) == {}
    assert (
        parse_values('lts_job_last_success_timestamp_seconds{client="a"} nope\n', [m.LAST_SUCCESS])
        == {}
    )


def test_a_missing_directory_is_a_metrics_error_naming_it(tmp_path):
    metrics = TextfileMetrics(tmp_path / "absent")
    with pytest.raises(MetricsError, match="absent"):
        metrics.publish("acme", "backup", families())


def test_an_unsafe_client_or_job_name_is_refused(tmp_path):
    with pytest.raises(Exception, match="client name"):
        TextfileMetrics(tmp_path).path("../etc", "backup")
