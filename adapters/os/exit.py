"""The Exit port on `sys.exit`: the one place the job ends the process."""

from __future__ import annotations

import sys

from ports.exit import Exit


class ProcessExit(Exit):
    """Ends the process with the given status code."""

    def exit(self, code: int) -> None:
        """Raise SystemExit with `code`, so `finally` blocks and atexit handlers still run."""
        sys.exit(code)
