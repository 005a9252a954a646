"""Run the restore job: one database of a run into a target database (SPEC section 5).

`python -m entrypoints.restore CLIENT_NAME KEY_VAULT CLIENT_ID CLIENT_SECRET --restore-vault URL
--database NAME [--run RUN_ID|latest] --target-database NAME [--target-host H] [--target-port P]
[--target-user U] [--jobs N] [--clean] [--keep-owners] [--globals]`
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from adapters.os.signals import hold_stop_signals
from domain.models.restore_request import RestoreRequest
from entrypoints.args import (
    OneLineParser,
    add_client_arguments,
    add_restore_vault_arguments,
    add_run_and_database,
    database_name,
    port_number,
    positive_jobs,
    run_client_job,
)
from entrypoints.requests import RestoreJob

DESCRIPTION = """\
Restore one database of a client's backup run into a target database: decrypt the dump with the
private key of the restore vault into a private temporary file, create the target database,
run pg_restore, remove the temporary file. A non-empty target is refused unless --clean. The
target is the client's own server with its credentials, unless --target-host, --target-port or
--target-user is given: then the password comes from PGPASSWORD or ~/.pgpass.
"""


def parser() -> argparse.ArgumentParser:
    """Return the restore job's argument parser."""
    result = OneLineParser(prog="restore", description=DESCRIPTION)
    add_client_arguments(result)
    add_restore_vault_arguments(result, required=True)
    add_run_and_database(result)
    result.add_argument("--target-database", "--target_database", required=True, type=database_name)
    result.add_argument("--target-host", "--target_host", default=None)
    result.add_argument("--target-port", "--target_port", type=port_number, default=None)
    result.add_argument("--target-user", "--target_user", default=None)
    result.add_argument("--jobs", type=positive_jobs, default=1, help="pg_restore --jobs")
    result.add_argument(
        "--clean", action="store_true", help="replace the contents of a non-empty target"
    )
    result.add_argument(
        "--keep-owners",
        "--keep_owners",
        action="store_true",
        help="keep owners and privileges (the roles must exist on the target server)",
    )
    result.add_argument(
        "--globals", action="store_true", help="first apply the run's roles and tablespaces"
    )
    return result


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments and run the restore job."""
    run_client_job(
        parser(),
        argv,
        lambda args, fields: RestoreJob(
            **fields,
            request=RestoreRequest(
                database=args.database,
                target_database=args.target_database,
                run=args.run,
                target_host=args.target_host,
                target_port=args.target_port,
                target_user=args.target_user,
                jobs=args.jobs,
                clean=args.clean,
                keep_owners=args.keep_owners,
                globals=args.globals,
            ),
        ),
        restore_vault=True,
    )


if __name__ == "__main__":
    # Before the container's imports: a stop signal during them still stops the job in order.
    hold_stop_signals()
    main()
