"""The HostProcesses port: is a process that wrote a record still running on this host?

The share's lock marker names the run holding it (SPEC 5.1). A run killed with SIGKILL leaves
its marker behind; when that run was of this very host, whether its process still runs can be
asked of the host, and a marker of a process that is gone (or whose pid now belongs to another
process) is taken over at once instead of blocking the next run for hours (SPEC 15).
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ProcessOwner:
    """A process as a record names it: host, pid, and when it started.

    `started` is the adapter's opaque token (boot and start time) that tells the process from a
    later one given the same pid.
    """

    host: str
    pid: int
    started: str

    @property
    def shown(self) -> str:
        """Return `host <host> pid <pid>`, as messages name a run."""
        return f"host {self.host} pid {self.pid}"

    def to_json(self) -> dict[str, object]:
        """Return the process as records write it (JSON object fields)."""
        return {"host": self.host, "pid": self.pid, "started": self.started}

    @classmethod
    def from_json(cls, data: object) -> ProcessOwner | None:
        """Return the process a record names, or None for one without it (an older format)."""
        if not isinstance(data, dict):
            return None
        host, pid, started = data.get("host"), data.get("pid"), data.get("started")
        if isinstance(host, str) and isinstance(pid, int) and isinstance(started, str):
            return cls(host, pid, started)
        return None


class Liveness(StrEnum):
    """What the host can say of a recorded process."""

    RUNNING = "running"
    GONE = "gone"
    UNKNOWN = "unknown"
    """Another host's process, or one this host cannot judge: only its age can tell."""


class HostProcesses(Protocol):
    """This host's processes: who the current one is, and whether a recorded one still runs."""

    @abstractmethod
    def current(self) -> ProcessOwner:
        """Return the current process as records name it."""

    @abstractmethod
    def liveness(self, owner: ProcessOwner, recorded: datetime | None) -> Liveness:
        """Tell whether `owner` still runs; `recorded` is when it wrote its record, if known."""
