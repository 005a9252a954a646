"""Run the backup job, the scheduler's contract (SPEC section 5.1).

`python -m entrypoints.backup CLIENT_NAME EOY_MONTH KEY_VAULT CLIENT_ID CLIENT_SECRET
[--tenant_id TENANT_ID] [--authority_host AUTHORITY_HOST]`
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from adapters.os.signals import hold_stop_signals
from entrypoints.args import OneLineParser, add_client_arguments, client_fields
from entrypoints.requests import BackupJob

DESCRIPTION = """\
Back up every database of one client: read the client's config from its Key Vault (or a
file:// TOML), mount its file share, dump each database with pg_dump, encrypt each dump to the
client's OpenPGP public key, store the run as end-of-month or end-of-year, apply retention,
unmount. Prints one 'Failure: <node> <message>' line per failure and exits with the number of
failures (0 = success, at most 100).
"""


def parser() -> argparse.ArgumentParser:
    """Return the backup job's argument parser."""
    result = OneLineParser(prog="backup", description=DESCRIPTION)
    add_client_arguments(result, eoy=True)
    return result


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments and run the backup job."""
    # Not through args.run_client_job, on purpose: the scheduler's job goes straight to the
    # container, so its path from here to pg_dump stays eight files (docs/architecture.md).
    job_parser = parser()
    args = job_parser.parse_args(argv)
    request = BackupJob(**client_fields(job_parser, args), eoy_month=args.eoy_month)
    # Imported after parsing so that --help and argument errors stay fast.
    from entrypoints.container import run_job

    run_job(request)


if __name__ == "__main__":
    # Before the container's imports: a stop signal during them still stops the job in order.
    hold_stop_signals()
    main()
