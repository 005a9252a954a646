"""The lock marker on a client's share: host, pid and start time of the run holding it.

The local `flock` only keeps runs on one host apart; two scheduler agents on different hosts
share nothing but the share, so the share carries a marker too (SPEC section 5.1). A marker older
than the configured age is taken over, and the caller reports that.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import Any

from domain.framework.machine import Machine, Step
from ports.clock import Clock
from ports.errors import LockHeldError, LtsError
from ports.file_share import FileShare

SHARE_LOCK_FILE = PurePosixPath(".lts-lock.json")


class ShareLock:
    """Take and release the share's lock marker for one client."""

    def __init__(
        self, *, share: FileShare, clock: Clock, client: str, owner: str, max_age: timedelta
    ) -> None:
        self._share = share
        self._clock = clock
        self._client = client
        self._owner = owner
        self._max_age = max_age
        self.held = False

    def take(self) -> str | None:
        """Write the marker; return a message when a stale marker was taken over.

        Raises:
            LockHeldError: a marker younger than `max_age` is there.
        """
        now = self._clock.now()
        if not self._share.exists(SHARE_LOCK_FILE):
            self._write(now)
            return None
        holder, since = self._read()
        if since is not None and now - since < self._max_age:
            raise LockHeldError(
                f"another run for {self._client} is in progress ({holder}, since "
                f"{since.isoformat()}) according to the share lock"
            )
        self._share.delete_file(SHARE_LOCK_FILE)
        self._write(now)
        when = since.isoformat() if since else "an unknown time"
        return (
            f"took over a stale share lock ({holder}, since {when}); "
            "the run that left it did not finish"
        )

    def release(self) -> None:
        """Remove the marker this run wrote."""
        if self.held:
            self._share.delete_file(SHARE_LOCK_FILE)
            self.held = False

    def _write(self, now: datetime) -> None:
        marker = {"owner": self._owner, "since": now.isoformat()}
        self._share.write_stream(SHARE_LOCK_FILE, [json.dumps(marker).encode()])
        self.held = True

    def _read(self) -> tuple[str, datetime | None]:
        try:
            marker = json.loads(b"".join(self._share.read_stream(SHARE_LOCK_FILE)))
            return str(marker["owner"]), datetime.fromisoformat(str(marker["since"]))
        except (ValueError, KeyError, TypeError, LtsError):
            return "unknown holder", None


def take_share_lock_step(machine: Machine, lock: ShareLock, then: Callable[[], Any]) -> Step:
    """Take `lock` as a machine's first node does: the Step to leave that node by.

    A live marker refuses the run (a Failure to `report_results`); a stale one is taken over
    and reported (a Failure that still goes on to `then`); otherwise a Success to `then`.
    """
    try:
        took_over = lock.take()
    except LockHeldError as exc:
        return machine.failure(machine.report_results, str(exc))
    if took_over:
        return machine.failure(then, took_over)
    return machine.success(then)
