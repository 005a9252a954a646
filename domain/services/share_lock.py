"""The lock marker on a client's share: host, pid and start time of the run holding it.

The local `flock` only keeps runs on one host apart; two scheduler agents on different hosts
share nothing but the share, so the share carries a marker too (SPEC section 5.1). The marker
names the run's process (host, pid and the host's token for its start time, from the
HostProcesses port). A marker of this host whose process is gone, or whose pid now belongs to
another process, is taken over at once and said in the log (SPEC 15): the run that left it was
killed, and the next run must not wait for it. A marker of another host (or of an older format)
keeps the age rule: older than the configured age, it is taken over and the caller reports that
as a Failure, because nobody can tell from here whether that run still writes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath
from typing import Any

from domain.framework.machine import Machine, Step
from ports.clock import Clock
from ports.errors import LockHeldError, LtsError
from ports.file_share import FileShare
from ports.host_processes import HostProcesses, Liveness, ProcessOwner

SHARE_LOCK_FILE = PurePosixPath(".lts-lock.json")

logger = logging.getLogger("lts.share_lock")


@dataclass(frozen=True, slots=True)
class Holder:
    """Who a marker names: its text, since when, and its process when the marker says."""

    owner: str
    since: datetime | None
    process: ProcessOwner | None


class ShareLock:
    """Take and release the share's lock marker for one client.

    Args:
        share: the client's share.
        clock: the time written as `since`.
        client: the client's name, for messages.
        owner: how the marker names this run (`host <name> pid <n>`).
        max_age: the age after which a marker that cannot be judged otherwise is taken over.
        processes: this host's processes; without it every marker follows the age rule.
    """

    def __init__(
        self,
        *,
        share: FileShare,
        clock: Clock,
        client: str,
        owner: str,
        max_age: timedelta,
        processes: HostProcesses | None = None,
    ) -> None:
        self._share = share
        self._clock = clock
        self._client = client
        self._owner = owner
        self._max_age = max_age
        self._processes = processes
        self.held = False
        self.refused = False
        """Whether another run's marker refused this run (it started nothing)."""
        self.took_over_dead = False
        """Whether this run took over the marker of a run proven dead (its debris is now ours)."""

    def take(self) -> str | None:
        """Write the marker; return a message when a stale marker was taken over by its age.

        A marker of a process of this host that is gone is taken over without a message (it is
        logged); one whose process still runs, or that is younger than `max_age` and cannot be
        judged, refuses the run.

        Raises:
            LockHeldError: another run holds the marker.
        """
        now = self._clock.now()
        if not self._share.exists(SHARE_LOCK_FILE):
            self._write(now)
            return None
        holder = self._read()
        liveness = self._liveness(holder)
        since = holder.since.isoformat() if holder.since else "an unknown time"
        if liveness is Liveness.GONE:
            logger.warning(
                "took over the share lock of %s (since %s): that process is gone, so its run "
                "was stopped before it finished",
                holder.owner,
                since,
            )
            self._replace(now)
            self.took_over_dead = True
            return None
        young = holder.since is not None and now - holder.since < self._max_age
        if liveness is Liveness.RUNNING or young:
            self.refused = True
            raise LockHeldError(
                f"another run for {self._client} is in progress ({holder.owner}, since "
                f"{since}) according to the share lock"
            )
        self._replace(now)
        return (
            f"took over a stale share lock ({holder.owner}, since {since}); "
            "the run that left it did not finish"
        )

    def release(self) -> None:
        """Remove the marker this run wrote."""
        if self.held:
            self._share.delete_file(SHARE_LOCK_FILE)
            self.held = False

    def _liveness(self, holder: Holder) -> Liveness:
        if self._processes is None or holder.process is None:
            return Liveness.UNKNOWN
        return self._processes.liveness(holder.process, holder.since)

    def _replace(self, now: datetime) -> None:
        self._share.delete_file(SHARE_LOCK_FILE)
        self._write(now)

    def _write(self, now: datetime) -> None:
        marker: dict[str, object] = {"owner": self._owner, "since": now.isoformat()}
        if self._processes is not None:
            me = self._processes.current()
            marker["process"] = me.to_json()
        self._share.write_stream(SHARE_LOCK_FILE, [json.dumps(marker).encode()])
        self.held = True

    def _read(self) -> Holder:
        try:
            marker = json.loads(b"".join(self._share.read_stream(SHARE_LOCK_FILE)))
            owner, since = str(marker["owner"]), datetime.fromisoformat(str(marker["since"]))
        except (ValueError, KeyError, TypeError, LtsError):
            return Holder("unknown holder", None, None)
        if since.tzinfo is None:
            # Written by hand, say: a time without a zone is read as UTC, as markers are written.
            since = since.replace(tzinfo=UTC)
        return Holder(owner, since, ProcessOwner.from_json(marker.get("process")))


def take_share_lock_step(
    machine: Machine, lock: ShareLock, then: Callable[[], Any], *, dry_run: bool = False
) -> Step:
    """Take `lock` as a machine's first node does: the Step to leave that node by.

    A live marker refuses the run (a Failure to `report_results`); a stale one is taken over
    and reported (a Failure that still goes on to `then`); otherwise a Success to `then`. A dry
    run changes nothing, so it writes no marker and goes straight on to `then`.
    """
    if dry_run:
        return machine.success(then)
    try:
        took_over = lock.take()
    except LockHeldError as exc:
        return machine.failure(machine.report_results, str(exc))
    if took_over:
        return machine.failure(then, took_over)
    return machine.success(then)
