"""Run the drill job: restore a run's databases into scratch databases and compare (SPEC 13).

`python -m entrypoints.drill CLIENT_NAME KEY_VAULT CLIENT_ID CLIENT_SECRET --restore-vault URL
[--run RUN_ID|latest] --target-host H [--target-port P] [--target-user U] [--database NAME ...]`
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from adapters.os.signals import hold_stop_signals
from domain.models.restore_request import DrillRequest, RunChoice
from entrypoints.args import (
    OneLineParser,
    add_client_arguments,
    add_restore_vault_arguments,
    client_fields,
    database_name,
    port_number,
    run_choice,
)
from entrypoints.requests import DrillJob

DESCRIPTION = """\
Prove that a backup run restores: decrypt each chosen database's dump (every database of the
run with an ok dump by default), restore it into a fresh scratch database on the target server,
compare every table's row count with the count the backup recorded in the dump's snapshot, and
drop the scratch database, also after failures. One JSON line per drilled database is appended to
drills.jsonl at the share root; `list` shows each run's last drill. One 'Failure:' line per
mismatch or error; the exit code is their number. The target login's password comes from
PGPASSWORD or ~/.pgpass; it needs CREATEDB.
"""


def parser() -> argparse.ArgumentParser:
    """Return the drill job's argument parser."""
    result = OneLineParser(prog="drill", description=DESCRIPTION)
    add_client_arguments(result)
    add_restore_vault_arguments(result, required=True)
    result.add_argument(
        "--run",
        type=run_choice,
        default=RunChoice.parse("latest"),
        help="the run id (YYYYMMDDTHHMMSSZ) or latest (default: the newest published run)",
    )
    result.add_argument("--target-host", "--target_host", required=True)
    result.add_argument("--target-port", "--target_port", type=port_number, default=None)
    result.add_argument("--target-user", "--target_user", default=None)
    result.add_argument(
        "--database",
        dest="databases",
        action="extend",
        nargs="+",
        type=database_name,
        default=[],
        help="a database of the run to drill (repeat or list several; default: all)",
    )
    return result


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments and run the drill job."""
    job_parser = parser()
    args = job_parser.parse_args(argv)
    if not args.target_host.strip():
        job_parser.error("--target-host must name a server")
    fields = client_fields(job_parser, args, restore_vault=True)
    request = DrillJob(
        **fields,
        request=DrillRequest(
            target_host=args.target_host,
            run=args.run,
            target_port=args.target_port,
            target_user=args.target_user,
            databases=tuple(dict.fromkeys(args.databases)),
        ),
    )
    # Imported after parsing so that --help and argument errors stay fast.
    from entrypoints.container import run_job

    run_job(request)


if __name__ == "__main__":
    # Before the container's imports: a stop signal during them still stops the job in order.
    hold_stop_signals()
    main()
