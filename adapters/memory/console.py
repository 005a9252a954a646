"""RecordingConsole: the scheduler-facing lines a job printed, kept in a list."""

from __future__ import annotations

from ports.console import Console


class RecordingConsole(Console):
    """Keeps printed lines in `lines`."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def print(self, line: str) -> None:
        """Record `line`."""
        self.lines.append(line)
