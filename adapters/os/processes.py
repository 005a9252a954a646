"""The HostProcesses port on this host's /proc: host name, boot id, pid and start time.

The rule itself lives in adapters/process/identity.py (shared with the leftovers journal): a
process of this host and boot runs when its pid shows the same start time; one recorded before
this host's last boot is gone; another host's cannot be judged here. Tested in
tests/unit/test_process_identity.py and, with killed jobs, in tests/reliability.
"""

from __future__ import annotations

from datetime import datetime

from adapters.process.identity import (
    ProcessIdentity,
    ProcessState,
    current_identity,
    state_of,
)
from ports.host_processes import HostProcesses, Liveness, ProcessOwner

_LIVENESS = {
    ProcessState.RUNNING: Liveness.RUNNING,
    ProcessState.GONE: Liveness.GONE,
    ProcessState.UNKNOWN: Liveness.UNKNOWN,
}


class LocalHostProcesses(HostProcesses):
    """Ask this host's kernel about its processes."""

    def current(self) -> ProcessOwner:
        """Return this process: host name, pid, and `<boot id>:<start ticks>`."""
        me = current_identity()
        return ProcessOwner(me.host, me.pid, me.token)

    def liveness(self, owner: ProcessOwner, recorded: datetime | None) -> Liveness:
        """Tell whether the recorded process still runs; see the module docstring."""
        identity = ProcessIdentity.from_json(
            {"host": owner.host, "pid": owner.pid, "started": owner.started}
        )
        if identity is None:
            return Liveness.UNKNOWN
        at = recorded.timestamp() if recorded is not None else None
        return _LIVENESS[state_of(identity, recorded_at=at)]
