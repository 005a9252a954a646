"""Run the release job: take a run off legal hold, with a reason (SPEC section 16).

`python -m entrypoints.release CLIENT_NAME KEY_VAULT CLIENT_ID CLIENT_SECRET --run RUN_ID
--reason TEXT [--tenant_id T] [--authority_host URL]`
"""

from __future__ import annotations

from collections.abc import Sequence

from adapters.os.signals import hold_stop_signals
from entrypoints import hold
from entrypoints.requests import ReleaseJob


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments and run the release job."""
    hold.main(argv, job=ReleaseJob)


if __name__ == "__main__":
    # Before the container's imports: a stop signal during them still stops the job in order.
    hold_stop_signals()
    main()
