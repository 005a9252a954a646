"""Run the retention job: prune expired runs without taking a backup (SPEC sections 5, 8).

`python -m entrypoints.retention CLIENT_NAME KEY_VAULT CLIENT_ID CLIENT_SECRET [--tenant_id T]
[--authority_host URL] [--dry-run]`
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from adapters.os.signals import hold_stop_signals
from entrypoints.args import OneLineParser, add_client_arguments, run_client_job
from entrypoints.requests import RetentionJob


def parser() -> argparse.ArgumentParser:
    """Return the retention job's argument parser."""
    result = OneLineParser(
        prog="retention",
        description="Delete a client's backup runs that are past their retention, keeping held "
        "runs, the newest complete runs and the last good copy of every database; every "
        "deletion is written to retention.log on the share.",
    )
    add_client_arguments(result)
    result.add_argument(
        "--dry-run",
        "--dry_run",
        dest="dry_run",
        action="store_true",
        help="print each run that would be deleted and the rule that expires it; delete nothing",
    )
    return result


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments and run the retention job."""
    run_client_job(
        parser(), argv, lambda args, fields: RetentionJob(**fields, dry_run=args.dry_run)
    )


if __name__ == "__main__":
    # Before the container's imports: a stop signal during them still stops the job in order.
    hold_stop_signals()
    main()
