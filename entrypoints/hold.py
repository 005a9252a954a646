"""Run the hold job: put a run on legal hold with a reason (SPEC section 16).

`python -m entrypoints.hold CLIENT_NAME KEY_VAULT CLIENT_ID CLIENT_SECRET --run RUN_ID
--reason TEXT [--tenant_id T] [--authority_host URL]`
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from adapters.os.signals import hold_stop_signals
from domain.models.hold import MAX_REASON, HoldRequest, check_reason
from domain.models.run import RunId
from entrypoints.args import OneLineParser, add_client_arguments, run_client_job
from entrypoints.requests import HoldJob

RELEASE = (
    "Release a run from legal hold: record the release and its reason in retention.log on the "
    "share, then remove the run's HOLD file. Retention may delete the run once it expires."
)


def run_id(text: str) -> RunId:
    """Parse `--run RUN_ID`: one exact run id (YYYYMMDDTHHMMSSZ)."""
    try:
        return RunId.parse(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--run must be a run id YYYYMMDDTHHMMSSZ (see the list job), not {text!r}"
        ) from None


def reason(text: str) -> str:
    """Check `--reason TEXT`: one line of printable text, at most MAX_REASON characters."""
    try:
        return check_reason(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parser(prog: str = "hold", description: str = "") -> argparse.ArgumentParser:
    """Return the argument parser of hold (or release)."""
    result = OneLineParser(
        prog=prog,
        description=description
        or "Put a run on legal hold: write its HOLD file (reason, user, host, time) and record "
        "the hold in retention.log on the share. Retention never deletes a held run.",
    )
    add_client_arguments(result)
    result.add_argument("--run", required=True, type=run_id, help="the run id (see list)")
    result.add_argument(
        "--reason",
        required=True,
        type=reason,
        help=f"why, in one line of at most {MAX_REASON} characters (a case or ticket number)",
    )
    return result


def main(argv: Sequence[str] | None = None, job: type[HoldJob] = HoldJob) -> None:
    """Parse arguments and run the hold (or release) job."""
    run_client_job(
        parser(job.job, "" if job is HoldJob else RELEASE),
        argv,
        lambda args, fields: job(**fields, hold=HoldRequest(run_id=args.run, reason=args.reason)),
    )


if __name__ == "__main__":
    # Before the container's imports: a stop signal during them still stops the job in order.
    hold_stop_signals()
    main()
