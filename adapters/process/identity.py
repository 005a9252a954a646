"""Who a process is, beyond its pid: host, boot and start time, and whether it still runs.

A pid alone names a process only while it lives: once it has exited, the kernel hands the number
to the next process. A job therefore names itself (in the share's lock marker, in its leftovers
journal) by host name, the kernel's boot id, its pid and its start time in clock ticks since boot
(field 22 of `/proc/<pid>/stat`). A later job asks `state_of`: a process of this host and boot
runs when its pid shows the same start time and is not a zombie; one of an earlier boot of this
host is gone; one of another host cannot be judged from here.

The share marker's liveness port (adapters/os/processes.py) and the leftovers journal
(leftovers.py) both use this module, so the rule exists once. Without `/proc` (not Linux) the
start time is unknown and a recorded one never matches: such a process is judged by its pid
alone. Tested in tests/unit/test_process_identity.py.
"""

from __future__ import annotations

import contextlib
import os
import socket
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

BOOT_ID_FILE = Path("/proc/sys/kernel/random/boot_id")
PROC_STAT = Path("/proc/stat")
START_TIME_FIELD = 22
"""The start time of a process in `/proc/<pid>/stat` (clock ticks since boot), counted from 1."""
GONE_STATES = frozenset("ZXx")
"""Zombie and dead: the process has exited, only its parent has not reaped it yet."""


class ProcessState(StrEnum):
    """What can be said from here about a recorded process."""

    RUNNING = "running"
    GONE = "gone"
    UNKNOWN = "unknown"
    """Another host's, or this host's under an earlier boot when that cannot be proven."""


@dataclass(frozen=True, slots=True)
class ProcessIdentity:
    """A process as it names itself: host, boot id, pid and start time (ticks since boot)."""

    host: str
    boot: str
    pid: int
    started: int | None

    @property
    def token(self) -> str:
        """Return `<boot id>:<start ticks>`: what, with the pid, tells a process from its reuse."""
        return f"{self.boot}:{'' if self.started is None else self.started}"

    def to_json(self) -> dict[str, Any]:
        """Return the identity as JSON-able fields."""
        return {"host": self.host, "pid": self.pid, "started": self.token}

    @classmethod
    def from_json(cls, data: object) -> ProcessIdentity | None:
        """Return the identity `to_json` wrote, or None for anything else (an older format)."""
        if not isinstance(data, dict):
            return None
        host, pid, token = data.get("host"), data.get("pid"), data.get("started")
        if not isinstance(host, str) or not isinstance(pid, int) or not isinstance(token, str):
            return None
        boot, _, ticks = token.partition(":")
        return cls(host, boot, pid, int(ticks) if ticks.isdigit() else None)


def current_identity() -> ProcessIdentity:
    """Return this process's identity."""
    pid = os.getpid()
    return ProcessIdentity(socket.gethostname(), boot_id(), pid, start_ticks(pid))


def boot_id() -> str:
    """Return the kernel's id of the current boot ("" when it cannot be read)."""
    try:
        return BOOT_ID_FILE.read_text().strip()
    except OSError:
        return ""


def boot_time() -> float | None:
    """Return when this host booted (seconds since the epoch), or None when unknown."""
    with contextlib.suppress(OSError, ValueError):
        for line in PROC_STAT.read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    return None


def start_ticks(pid: int) -> int | None:
    """Return the start time of a live process in ticks since boot; None when gone or unknown."""
    fields = _stat_fields(pid)
    if fields is None or fields[0] in GONE_STATES:
        return None
    with contextlib.suppress(IndexError, ValueError):
        return int(fields[START_TIME_FIELD - 3])
    return None


def state_of(identity: ProcessIdentity, *, recorded_at: float | None = None) -> ProcessState:
    """Tell whether the recorded process still runs.

    Args:
        identity: the process as it named itself.
        recorded_at: when it wrote the record (seconds since the epoch), if known: a record of
            this host written before the current boot is proof its writer is gone.
    """
    if identity.host != socket.gethostname():
        return ProcessState.UNKNOWN
    current_boot = boot_id()
    if identity.boot != current_boot:
        # The same name but another boot: this host rebooted, or another host bears its name.
        # Only a record older than this boot is surely of this host's earlier life.
        booted = boot_time()
        if booted is not None and recorded_at is not None and recorded_at < booted:
            return ProcessState.GONE
        return ProcessState.UNKNOWN
    if not pid_exists(identity.pid):
        return ProcessState.GONE
    ticks = start_ticks(identity.pid)
    if ticks is None:
        # A zombie has no start time: it has exited. Without /proc the live pid is all there is.
        return ProcessState.GONE if _proc_available() else ProcessState.RUNNING
    if identity.started is None:
        return ProcessState.RUNNING
    return ProcessState.RUNNING if ticks == identity.started else ProcessState.GONE


def _stat_fields(pid: int) -> list[str] | None:
    """Return the fields of `/proc/<pid>/stat` after the command name, from field 3 (state)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may itself hold spaces and parentheses.
    return text[text.rfind(")") + 1 :].split()


def pid_exists(pid: int) -> bool:
    """Tell whether a process of this pid exists (one of another user too)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _proc_available() -> bool:
    return Path("/proc/self/stat").exists()
