"""The clean-up every job that writes to a share ends with: remove the share's lock marker.

`ShareLockedMachine` is the abstract base of the backup, retention, hold, release and rekey
machines: a subclass sets `share_lock` (ClientContext.share_lock) in its constructor, takes it in
its entry node (take_share_lock_step) and leads every path into `release_share_lock`.
"""

from __future__ import annotations

from domain.framework.definition import node
from domain.framework.machine import Machine, Step
from domain.services.share_lock import ShareLock


class ShareLockedMachine(Machine, abstract=True):
    """A machine that holds the share's lock marker while it runs."""

    share_lock: ShareLock

    @node(
        happy=("report_results",),
        unhappy=("report_results",),
        on_exception="report_results",
        cleanup=True,
    )
    def release_share_lock(self) -> Step:
        """Remove the share's lock marker written by this run."""
        self.share_lock.release()
        return self.success(self.report_results)
