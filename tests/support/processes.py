"""The processes of this machine as /proc shows them, for tests and benchmarks that count them."""

from __future__ import annotations

from pathlib import Path


def child_processes(parent: int) -> list[tuple[int, str, str]]:
    """Return (pid, command, state) of every process whose parent is `parent`, zombies included."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        command = text[text.index("(") + 1 : text.rindex(")")]
        state, ppid = text[text.rindex(")") + 2 :].split()[:2]
        if int(ppid) == parent:
            found.append((int(stat.parent.name), command, state))
    return found
