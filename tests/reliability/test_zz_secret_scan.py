"""Search everything the reliability suite's jobs produced for the secrets they were given.

Runs last in this directory (pytest collects files in name order). Every site registered in the
session's ledger is searched: its logs, each job's stdout and stderr, the share's file names and
unencrypted files, and what the wrappers captured (argv, the job's /proc cmdline and environ),
together with the in-process outputs of the fuzz tests.
"""

from __future__ import annotations

import pytest

from tests.reliability.world import CAPTURES, SecretLedger

pytestmark = pytest.mark.integration


def test_no_secret_appears_in_any_log_output_share_name_or_captured_command_line(
    ledger: SecretLedger,
) -> None:
    if not ledger.sites:
        pytest.skip("no job of the reliability suite ran in this session: nothing to scan")
    captures = [
        path
        for site in ledger.sites
        if (site.root / CAPTURES).is_dir()
        for path in (site.root / CAPTURES).iterdir()
    ]
    assert ledger.secrets, "the tests registered the secrets they used"

    assert ledger.leaks() == []
    if any(path.name.endswith(".parent-cmdline") for path in captures):
        assert any(path.name.endswith(".parent-environ") for path in captures)
