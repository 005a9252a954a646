"""Run the report job: one read-only report over a fleet of clients (SPEC section 16).

`python -m entrypoints.report FLEET_FILE --output DIR`
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from adapters.os.signals import hold_stop_signals
from entrypoints.args import OneLineParser
from entrypoints.fleet import FleetError, read_fleet
from entrypoints.requests import ReportJob

DESCRIPTION = """\
Read every client of FLEET_FILE (TOML, one [[client]] table per client: name, eoy_month,
key_vault, client_id, client_secret) without changing anything on any share, and write
DIR/report.json and DIR/index.html, a static page that needs no network: which months have a
complete run, each database's stored size over time, the last failures, the keys and when they
expire, the runs on hold and why. A client that cannot be reached is a row that says why. One
'Failure:' line per client with a problem; exits with their number (at most 100).
"""


def parser() -> argparse.ArgumentParser:
    """Return the report job's argument parser."""
    result = OneLineParser(prog="report", description=DESCRIPTION)
    result.add_argument("fleet_file", metavar="FLEET_FILE", type=Path, help="the fleet file")
    result.add_argument(
        "--output", required=True, type=Path, help="the directory for report.json and index.html"
    )
    return result


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments and the fleet file, and run the report job."""
    job_parser = parser()
    args = job_parser.parse_args(argv)
    try:
        clients = read_fleet(args.fleet_file)
    except FleetError as exc:
        job_parser.error(f"FLEET_FILE: {exc}")
    request = ReportJob(clients=clients, fleet_file=args.fleet_file, output=args.output)
    # Imported after parsing so that --help and argument errors stay fast.
    from entrypoints.container import run_job

    run_job(request)


if __name__ == "__main__":
    # Before the container's imports: a stop signal during them still stops the job in order.
    hold_stop_signals()
    main()
