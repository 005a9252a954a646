"""Run the decrypt job: one stored dump into a local 0600 file (SPEC section 5).

`python -m entrypoints.decrypt CLIENT_NAME KEY_VAULT CLIENT_ID CLIENT_SECRET --restore-vault URL
--database NAME [--run RUN_ID|latest] --output PATH [--sql]`
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from adapters.os.signals import hold_stop_signals
from domain.models.restore_request import DecryptRequest
from entrypoints.args import (
    OneLineParser,
    add_client_arguments,
    add_restore_vault_arguments,
    add_run_and_database,
    run_client_job,
)
from entrypoints.requests import DecryptJob

DESCRIPTION = """\
Decrypt one database's dump of a client's backup run into a new local file of mode 0600 (never
overwriting one): the custom-format dump for pg_restore, or plain SQL with --sql.
"""


def output_path(text: str) -> Path:
    """Check `--output`: a file name, not empty, no control characters."""
    if not text or text.endswith("/") or not text.isprintable():
        raise argparse.ArgumentTypeError(
            f"--output must name a file (not empty, no control characters), not {text!r}"
        )
    return Path(text)


def parser() -> argparse.ArgumentParser:
    """Return the decrypt job's argument parser."""
    result = OneLineParser(prog="decrypt", description=DESCRIPTION)
    add_client_arguments(result)
    add_restore_vault_arguments(result, required=True)
    add_run_and_database(result)
    result.add_argument("--output", required=True, type=output_path, help="the file to write")
    result.add_argument("--sql", action="store_true", help="write plain SQL (pg_restore -f)")
    return result


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments and run the decrypt job."""
    run_client_job(
        parser(),
        argv,
        lambda args, fields: DecryptJob(
            **fields,
            request=DecryptRequest(
                database=args.database, output=args.output.absolute(), run=args.run, sql=args.sql
            ),
        ),
        restore_vault=True,
    )


if __name__ == "__main__":
    # Before the container's imports: a stop signal during them still stops the job in order.
    hold_stop_signals()
    main()
