"""Relay: pass one child's output on to the next child, checking its first bytes on the way.

A stage that promises something of its output (`magic`, `require_output`: pg_dump writes a
custom-format archive) is checked even when its output goes to another child (pg_dump | zstd |
gpg), not only when Python reads it. The relay thread reads the first bytes itself (at most the
magic's length), judges them, writes them on, and then moves the rest from pipe to pipe with
`os.splice`: the kernel hands the pages over, so no byte of the stream is copied into Python.
A wrong start kills every child of the pipeline; after an empty output the next child is simply
given the end of its input. Either way the failure is recorded here and raised by
`Running.finish` when the stream ends (unless a child's own failure explains more), so no
consumer ever takes such a stream for a whole one. Tested in
tests/integration/test_process_pipeline.py.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from typing import IO

from adapters.process.stage import ChildFailure, Stage

SPLICE_BYTES = 1024 * 1024
"""The most bytes one splice moves: the enlarged pipe's size."""


class Relay(threading.Thread):
    """Move `source` (a child's stdout) to `sink` (the next child's stdin), judging its start.

    The thread owns both descriptors and closes them when done: the upstream child then sees a
    reader that has gone (if it still writes), the downstream child the end of its input.
    """

    def __init__(
        self, stage: Stage, source: IO[bytes], sink: int, stop: Callable[[], None]
    ) -> None:
        super().__init__(name=f"lts-relay-{stage.tool}", daemon=True)
        self.stage = stage
        self._source = source
        self._sink = sink
        self._stop_pipeline = stop
        self.failure: ChildFailure | None = None
        """Why the stage's output was refused, or None."""

    def run(self) -> None:
        """Judge the first bytes, pass them on, splice the rest, close both ends."""
        try:
            head = self._head()
            if self._judge(head) and _write_all(self._sink, head):
                self._splice()
        except OSError:
            # The downstream child went away (EPIPE) or was killed: its own status explains.
            pass
        finally:
            with contextlib.suppress(OSError):
                os.close(self._sink)
            self._source.close()

    def _head(self) -> bytes:
        """Read the magic's length (one byte at least), fewer only at the end of the output."""
        wanted = max(len(self.stage.magic or b""), 1)
        head = b""
        fd = self._source.fileno()
        while len(head) < wanted:
            chunk = os.read(fd, wanted - len(head))
            if not chunk:
                break
            head += chunk
        return head

    def _judge(self, head: bytes) -> bool:
        """Tell whether the output may go on; otherwise record why (and stop a wrong one)."""
        if not head:
            # The child closed its output, so it is ending: its exit status may explain more.
            if self.stage.require_output:
                self.failure = self.stage.no_output()
            return False
        if not head.startswith(self.stage.magic or b""):
            self.failure = self.stage.wrong_start()
            self._stop_pipeline()
            return False
        return True

    def _splice(self) -> None:
        source = self._source.fileno()
        while os.splice(source, self._sink, SPLICE_BYTES):
            pass


def _write_all(fd: int, data: bytes) -> bool:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    return True
