"""Run one child to its end, optionally fed a stream, and keep what it printed (bounded).

For children that consume a stream and print a little (`pg_restore --list`, `psql` applying the
globals) or nothing (`pg_restore` from a file). The child may stop reading before the stream ends
(`pg_restore --list` reads only the archive's table of contents): the rest of the stream is then
still read to its end and dropped, so that a failure of the producer at the very end (gpg finding
the data damaged) is raised as it is, not hidden. Tested in
tests/integration/test_process_pipeline.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from adapters.process.children import Running
from adapters.process.stage import Stage

STDOUT_LIMIT = 64 * 1024 * 1024
"""The most stdout kept; the rest is read and dropped, so the child never blocks on it."""
READ_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Collected:
    """What a child that succeeded printed: its stdout (capped) and its stderr's tail.

    `stderr` is raw (decoded, not masked): mask it before showing it.
    """

    stdout: bytes
    stderr: str


def collect(
    stage: Stage, source: Iterable[bytes] | None = None, *, stdout_limit: int = STDOUT_LIMIT
) -> Collected:
    """Run `stage` with `source` on its stdin (None: /dev/null) and collect its output.

    Raises:
        Exception: `source`'s own error as it is; else the stage's error (`stage.on_failure`)
            when the child cannot start or exits non-zero.
    """
    running = Running([stage], source, drain=True)
    running.start()
    try:
        stdout = bytearray()
        while chunk := running.read(READ_BYTES):
            room = stdout_limit - len(stdout)
            if room > 0:
                stdout += chunk[:room]
        result = running.finish()[-1]
        running.judge_taps()
    finally:
        running.abort()
    return Collected(bytes(stdout), result.stderr.decode("utf-8", errors="replace"))
