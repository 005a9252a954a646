"""RecordingExit: the exit code a job ended with, kept instead of exiting."""

from __future__ import annotations

from ports.exit import Exit


class RecordingExit(Exit):
    """Keeps the exit code in `code` (None until `exit` is called)."""

    def __init__(self) -> None:
        self.code: int | None = None

    def exit(self, code: int) -> None:
        """Record `code`."""
        self.code = code
