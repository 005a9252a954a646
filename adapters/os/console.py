"""The Console port on the process's standard output, which the scheduler reads."""

from __future__ import annotations

import contextlib
import logging
import os
import sys

from ports.console import Console

logger = logging.getLogger("lts.console")


class StdoutConsole(Console):
    """Prints scheduler-facing lines to stdout, flushed at once.

    Flushing each line keeps the order of `Failure:` lines intact when the scheduler captures
    stdout through a pipe and the job is killed before exiting normally. A stdout that is closed
    (its reader gone, or closed by the caller) loses the lines, never the job: the first failed
    write is logged, stdout is pointed at /dev/null so that nothing fails again (the
    interpreter's last flush included), and the job goes on to its end and its exit code.
    """

    def __init__(self) -> None:
        self.lost = False

    def print(self, line: str) -> None:
        """Write one line to stdout and flush it."""
        if self.lost:
            return
        try:
            print(line, flush=True)
        except (OSError, ValueError) as exc:
            # BrokenPipeError (EPIPE) is an OSError; a closed file object raises ValueError.
            self.lost = True
            _discard_stdout()
            logger.warning("stdout is closed (%s); the job's lines are only in this log", exc)


def _discard_stdout() -> None:
    """Point stdout's descriptor at /dev/null, so later writes and the final flush succeed."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        finally:
            os.close(devnull)
