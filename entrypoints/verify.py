"""Run the verify job: check stored runs against their manifests (SPEC section 5).

`python -m entrypoints.verify CLIENT_NAME KEY_VAULT CLIENT_ID CLIENT_SECRET
[--run RUN_ID|latest|all] [--restore-vault URL] [--logs]`
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from adapters.os.signals import hold_stop_signals
from domain.models.restore_request import LATEST, VerifyRequest
from entrypoints.args import (
    OneLineParser,
    add_client_arguments,
    add_restore_vault_arguments,
    run_choice_or_all,
    run_client_job,
)
from entrypoints.requests import VerifyJob

DESCRIPTION = """\
Check a client's stored runs against their manifests: every file's size and sha256. With
--restore-vault, also decrypt every file as a stream and read each database dump with
pg_restore --list (nothing is written to disk). With [signing] trusted_keys in the master
config, each run's manifest is checked against its signature (manifest.json.asc). With --logs,
the hash chain of every audit log on the share is checked instead (and the runs too when --run
is given). One 'Failure:' line per problem.
"""


def parser() -> argparse.ArgumentParser:
    """Return the verify job's argument parser."""
    result = OneLineParser(prog="verify", description=DESCRIPTION)
    add_client_arguments(result)
    add_restore_vault_arguments(result, required=False)
    result.add_argument(
        "--run",
        type=run_choice_or_all,
        default=None,
        help="a run id (YYYYMMDDTHHMMSSZ), latest (the default) or all",
    )
    result.add_argument(
        "--logs",
        action="store_true",
        help="check the hash chain of every audit log on the share (retention.log, "
        "ARCHIVE.jsonl, rekey.jsonl, ...), naming each log's first broken line",
    )
    return result


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments and run the verify job."""
    run_client_job(
        parser(),
        argv,
        lambda args, fields: VerifyJob(
            **fields,
            request=VerifyRequest(
                run=args.run or LATEST, logs=args.logs, runs=args.run is not None or not args.logs
            ),
        ),
        restore_vault=True,
    )


if __name__ == "__main__":
    # Before the container's imports: a stop signal during them still stops the job in order.
    hold_stop_signals()
    main()
