"""Put a run on legal hold, or release it, with an entry in the share's audit log (SPEC 16).

`HoldRunMachine` writes the run's `HOLD` file (reason, user, host, since) and appends a `hold`
entry to `retention.log`; `ReleaseRunMachine` appends a `release` entry and removes the file.
Both change what retention may delete, so they run under the client's lock (the container's
locked mount) and the share's lock marker, like retention itself: a hold can never land between
retention's survey and its deletion. Each errs on the side of the hold: the HOLD file is
written before its log entry and removed only after its release entry, so a failure half-way
leaves the run held and is reported. Failure prefix: `<client>`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from domain.framework.definition import node
from domain.framework.machine import Step
from domain.framework.results import Result, failures
from domain.framework.slot import Slot
from domain.machines.mount import ClientContext
from domain.machines.retention import AUDIT_LOG
from domain.machines.share_locked import ShareLockedMachine
from domain.models.hold import HOLD_FILE, Hold, HoldRequest
from domain.models.run import StoredRun
from domain.services.audit_log import AuditLog
from domain.services.catalog import RunCatalog
from domain.services.holds import read_hold
from domain.services.share_lock import take_share_lock_step
from ports.clock import Clock
from ports.errors import HoldError, LtsError
from ports.host_processes import HostProcesses

logger = logging.getLogger("lts.hold")


@dataclass(frozen=True, slots=True)
class Operator:
    """Who asks: the user running the job and the host it runs on."""

    user: str
    host: str


class ChangeHoldMachine(ShareLockedMachine, abstract=True):
    """The nodes hold and release share: the share lock, finding the run, unlocking."""

    run = Slot[StoredRun]("find_run")
    verb = ""
    done_text = ""
    find_run: Callable[[], Step]
    """Each job's own first node after the lock (declared here for the entry's exits)."""

    def __init__(
        self,
        context: ClientContext,
        *,
        request: HoldRequest,
        clock: Clock,
        operator: Operator,
        lock_owner: str,
        share_lock_max_age: timedelta,
        processes: HostProcesses | None = None,
    ) -> None:
        super().__init__()
        self._client = context.config.client_name
        self._share = context.share
        self._request = request
        self._clock = clock
        self._operator = operator
        self.done = False
        self.share_lock = context.share_lock(clock, lock_owner, share_lock_max_age, processes)

    @property
    def prefix(self) -> str:
        """Return the client name."""
        return self._client

    @node(
        entry=True,
        happy=("find_run",),
        unhappy=("report_results", "find_run"),
        on_exception="report_results",
    )
    def take_share_lock(self) -> Step:
        """Write the share's lock marker: no retention or backup may run meanwhile."""
        return take_share_lock_step(self, self.share_lock, self.find_run)

    def published_run(self) -> StoredRun:
        """Return the published run the request names.

        Raises:
            HoldError: no published run has that id.
        """
        wanted = self._request.run_id
        for run in RunCatalog(self._share).all_runs():
            if run.run_id == wanted:
                return run
        raise HoldError(f"no published run {wanted} on the share (see the list job)")

    def audit(self, event: str, hold: Hold) -> None:
        """Append an entry to the share's audit log, retention.log."""
        entry: dict[str, object] = {
            "time": self._clock.now().isoformat(),
            "event": event,
            "run": str(self.run.path),
            "reason": self._request.reason,
            "user": self._operator.user,
            "host": self._operator.host,
        }
        if event == "release":
            entry["hold_reason"] = hold.reason
            entry["held_since"] = hold.since.isoformat() if hold.since else None
        AuditLog(self._share, AUDIT_LOG).append(entry)

    def summary(self, results: list[Result]) -> str:
        """Return one line: what changed, or that nothing did."""
        run = type(self).run.get(self)
        what = str(run.path) if run else str(self._request.run_id)
        state = self.done_text if self.done else "nothing changed"
        return f"{self.verb} {self._client}: {what} {state}, {len(failures(results))} failures"


class HoldRunMachine(ChangeHoldMachine):
    """Put a run on legal hold and record it."""

    verb = "hold"
    done_text = "is on hold"

    @node(happy=("write_hold",), unhappy=("release_share_lock",), on_exception="release_share_lock")
    def find_run(self) -> Step:
        """Find the published run; refuse one that is already held."""
        self.run = self.published_run()
        held = read_hold(self._share, self.run.path)
        if held is not None:
            since = held.since.isoformat() if held.since else "an unknown time"
            by = f" by {held.who}" if held.who else ""
            return self.failure(
                self.release_share_lock,
                f"{self.run.path} is already on hold since {since}{by}: {held.shown_reason}",
            )
        return self.success(self.write_hold)

    @node(
        happy=("record_hold",), unhappy=("release_share_lock",), on_exception="release_share_lock"
    )
    def write_hold(self) -> Step:
        """Write the HOLD file atomically: reason, user, host, since."""
        hold = Hold(
            reason=self._request.reason,
            user=self._operator.user,
            host=self._operator.host,
            since=self._clock.now(),
            recorded=True,
        )
        self._share.write_stream(self.run.path / HOLD_FILE, [hold.to_json()])
        self.done = True
        logger.info("%s is on hold: %s", self.run.path, hold.reason)
        return self.success(self.record_hold)

    @node(
        happy=("release_share_lock",),
        unhappy=("release_share_lock",),
        on_exception="release_share_lock",
        cleanup=True,
    )
    def record_hold(self) -> Step:
        """Append the hold to retention.log (the run stays held if this fails)."""
        try:
            self.audit("hold", Hold())
        except (LtsError, ValueError) as exc:
            return self.failure(
                self.release_share_lock,
                f"{self.run.path} is on hold, but {AUDIT_LOG} could not be appended ({exc}); "
                "record the hold by hand",
            )
        return self.success(self.release_share_lock)


class ReleaseRunMachine(ChangeHoldMachine):
    """Release a run from legal hold and record it."""

    verb = "release"
    done_text = "is released"
    hold = Slot[Hold]("find_run")

    @node(
        happy=("record_release",),
        unhappy=("release_share_lock",),
        on_exception="release_share_lock",
    )
    def find_run(self) -> Step:
        """Find the published run; refuse one that is not held."""
        self.run = self.published_run()
        held = read_hold(self._share, self.run.path)
        if held is None:
            return self.failure(self.release_share_lock, f"{self.run.path} is not on hold")
        self.hold = held
        return self.success(self.record_release)

    @node(
        happy=("remove_hold",), unhappy=("release_share_lock",), on_exception="release_share_lock"
    )
    def record_release(self) -> Step:
        """Append the release to retention.log first: an unrecorded release never happens."""
        self.audit("release", self.hold)
        return self.success(self.remove_hold)

    @node(
        happy=("release_share_lock",),
        unhappy=("release_share_lock",),
        on_exception="release_share_lock",
    )
    def remove_hold(self) -> Step:
        """Remove the HOLD file: retention may delete the run once it expires."""
        self._share.delete_file(self.run.path / HOLD_FILE)
        self.done = True
        logger.info("%s released from hold", self.run.path)
        return self.success(self.release_share_lock)
