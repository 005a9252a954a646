"""Run the list job: show a client's runs (SPEC section 5).

`python -m entrypoints.list CLIENT_NAME KEY_VAULT CLIENT_ID CLIENT_SECRET [--tenant_id T]
[--authority_host URL] [--json]`
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from adapters.os.signals import hold_stop_signals
from entrypoints.args import OneLineParser, add_client_arguments, run_client_job
from entrypoints.requests import ListJob


def parser() -> argparse.ArgumentParser:
    """Return the list job's argument parser."""
    result = OneLineParser(
        prog="list",
        description="Show every backup run of a client: tier, period, run id, databases ok and "
        "failed, total bytes, legal hold, and the date its retention ends.",
    )
    add_client_arguments(result)
    result.add_argument("--json", action="store_true", help="print one JSON document")
    return result


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments and run the list job."""
    run_client_job(parser(), argv, lambda args, fields: ListJob(**fields, as_json=args.json))


if __name__ == "__main__":
    # Before the container's imports: a stop signal during them still stops the job in order.
    hold_stop_signals()
    main()
