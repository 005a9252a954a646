"""Run the rekey job: re-encrypt stored runs to the client's current public key (SPEC 14).

`python -m entrypoints.rekey CLIENT_NAME KEY_VAULT CLIENT_ID CLIENT_SECRET --restore-vault URL
[--run RUN_ID|all] [--dry-run]`
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from adapters.os.signals import hold_stop_signals
from domain.models.restore_request import ALL, RekeyRequest
from entrypoints.args import (
    OneLineParser,
    add_client_arguments,
    add_restore_vault_arguments,
    run_choice_or_all,
    run_client_job,
)
from entrypoints.requests import RekeyJob

DESCRIPTION = """\
Re-encrypt a client's stored runs to the current public-key (and escrow-public-key) of its
backup config, streaming gpg --decrypt into gpg --encrypt (no plaintext on disk), checking that
each new file decrypts to the same bytes, then switching the run's manifest (and its signature,
SHA256SUMS, RESTORE.txt) in one atomic rename. A run is complete in its old or its new form at
every moment; a rekey that was stopped is finished by the next one. The restore config
(--restore-vault) must hold the private keys of the old and of the current public key. Runs with
a HOLD are re-encrypted too. Every run re-encrypted is recorded in rekey.jsonl on the share.
"""


def parser() -> argparse.ArgumentParser:
    """Return the rekey job's argument parser."""
    result = OneLineParser(prog="rekey", description=DESCRIPTION)
    add_client_arguments(result)
    add_restore_vault_arguments(result, required=True)
    result.add_argument(
        "--run",
        type=run_choice_or_all,
        default=ALL,
        help="a run id (YYYYMMDDTHHMMSSZ), or all (the default)",
    )
    result.add_argument(
        "--dry-run",
        "--dry_run",
        dest="dry_run",
        action="store_true",
        help="list the runs that would be re-encrypted (or finished) and change nothing",
    )
    return result


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments and run the rekey job."""
    run_client_job(
        parser(),
        argv,
        lambda args, fields: RekeyJob(
            **fields, request=RekeyRequest(run=args.run, dry_run=args.dry_run)
        ),
        restore_vault=True,
    )


if __name__ == "__main__":
    # Before the container's imports: a stop signal during them still stops the job in order.
    hold_stop_signals()
    main()
