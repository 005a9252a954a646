"""The Console port on the process's standard output, which the scheduler reads."""

from __future__ import annotations

from ports.console import Console


class StdoutConsole(Console):
    """Prints scheduler-facing lines to stdout, flushed at once.

    Flushing each line keeps the order of `Failure:` lines intact when the scheduler captures
    stdout through a pipe and the job is killed before exiting normally.
    """

    def print(self, line: str) -> None:
        """Write one line to stdout and flush it."""
        print(line, flush=True)
