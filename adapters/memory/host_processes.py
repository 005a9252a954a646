"""InMemoryHostProcesses: a host whose running processes a test lists."""

from __future__ import annotations

from datetime import datetime

from ports.host_processes import HostProcesses, Liveness, ProcessOwner


class InMemoryHostProcesses(HostProcesses):
    """A host named `host` on which the processes in `running` run (the current one among them).

    Records of other hosts are UNKNOWN; a process of this host that is not in `running` is GONE.
    """

    def __init__(
        self,
        host: str = "test-host",
        pid: int = 42,
        started: str = "boot:100",
        running: set[ProcessOwner] | None = None,
    ) -> None:
        self.host = host
        self.me = ProcessOwner(host, pid, started)
        self.running = {self.me} if running is None else running

    def current(self) -> ProcessOwner:
        """Return this test process."""
        return self.me

    def liveness(self, owner: ProcessOwner, recorded: datetime | None) -> Liveness:
        """Tell from the `running` set; other hosts cannot be judged."""
        if owner.host != self.host:
            return Liveness.UNKNOWN
        return Liveness.RUNNING if owner in self.running else Liveness.GONE
