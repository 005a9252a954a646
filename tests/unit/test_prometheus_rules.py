"""docs/prometheus/lts-rules.yml: a valid Prometheus rules file naming only metrics jobs write.

promtool is not installed here, so the structure promtool checks is checked with PyYAML, and
every metric an expression names must be one that `domain.rules.metrics` writes.
"""

import re
from pathlib import Path

import yaml

from domain.rules import metrics as m

RULES = Path(__file__).resolve().parents[2] / "docs" / "prometheus" / "lts-rules.yml"
WRITTEN = {name for name in vars(m).values() if isinstance(name, str) and name.startswith("lts_")}
DURATION = re.compile(r"^\d+[smhdwy]$")


def rules():
    document = yaml.safe_load(RULES.read_text())
    assert set(document) == {"groups"}
    for group in document["groups"]:
        assert set(group) <= {"name", "interval", "rules"}
        yield from group["rules"]


def test_every_rule_is_an_alert_with_an_expression_labels_and_a_summary():
    found = list(rules())
    assert len(found) >= 4
    for rule in found:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", rule["alert"])
        assert rule["expr"].strip()
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]
        if "for" in rule:
            assert DURATION.match(rule["for"])


def test_every_metric_an_expression_names_is_one_the_jobs_write():
    named = set()
    for rule in rules():
        named |= set(re.findall(r"\blts_[a-z_]+\b", rule["expr"]))
    assert named
    assert named <= WRITTEN, named - WRITTEN


def test_the_issue_s_four_alerts_are_there():
    expressions = {rule["alert"]: rule["expr"] for rule in rules()}
    assert m.LAST_COMPLETE_PERIOD in expressions["LtsNoCompleteBackupLastMonth"]
    assert m.FAILURES in expressions["LtsJobFailures"]
    assert m.DATABASE_PREVIOUS_BYTES in expressions["LtsBackupDumpShrank"]
    assert m.KEY_EXPIRY in expressions["LtsKeyExpiring"]


def test_expressions_have_balanced_brackets_and_quotes():
    for rule in rules():
        expr = rule["expr"]
        for open_, close in ("()", "{}", "[]"):
            assert expr.count(open_) == expr.count(close), rule["alert"]
        assert expr.count('"') % 2 == 0
