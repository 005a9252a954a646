"""The session's secret scan (tests/reliability/conftest.py) finds a leak wherever it is.

The scan itself runs when the session's `ledger` fixture is torn down, after every test that
used it, whatever order the tests ran in. These tests prove that it fails on a planted leak of
each kind of output it searches, and passes on clean ones.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.conftest import scan
from tests.reliability.world import CAPTURES, RecordedSite, SecretLedger

SECRET = "planted-secret-value-123"


def test_a_secret_in_an_in_process_output_fails_the_scan() -> None:
    ledger = SecretLedger()
    ledger.add_secrets(SECRET)
    ledger.add_text("fuzz stdout", f"Failure: x {SECRET}")
    with pytest.raises(AssertionError, match="secrets leaked"):
        scan(ledger)


def test_a_secret_in_a_sites_captured_command_line_fails_the_scan(tmp_path: Path) -> None:
    ledger = SecretLedger()
    site = ledger.register(RecordedSite(tmp_path / "site"), SECRET)
    (site.root / CAPTURES).mkdir(parents=True, exist_ok=True)
    (site.root / CAPTURES / "1.argv").write_text(f"pg_dump --password {SECRET}")
    with pytest.raises(AssertionError, match="secrets leaked"):
        scan(ledger)


def test_clean_outputs_pass_the_scan(tmp_path: Path) -> None:
    ledger = SecretLedger()
    ledger.register(RecordedSite(tmp_path / "site"), SECRET)
    ledger.add_text("fuzz stdout", "Failure: x *****")
    scan(ledger)
