"""A tap: a side reader that gets a copy of one stage's output while the pipeline runs.

`pg_dump | gpg` must not be slowed or copied through Python, yet the backup wants pg_dump's table
of contents counted (`pg_restore --list`) as it is written. A stage with a `Tap` is followed in the
pipeline by GNU `tee --output-error=warn-nopipe /dev/fd/N`: tee passes the output on to the next
stage and copies it into a pipe whose other end is the reader's stdin. The reader may stop reading
early (`pg_restore --list` reads only the table of contents): tee then keeps writing to the
pipeline (`warn-nopipe` ignores a reader that has gone), so the dump goes on unharmed. When the
pipeline ends the reader's exit status is checked like any child's, and its stdout handed to
`on_output`, which may raise the stage's error when what the reader printed is unusable.
Tested in tests/integration/test_process_pipeline.py.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from adapters.process.registry import CHILDREN
from adapters.process.stage import ChildFailure, Stage
from adapters.process.threads import StderrTail

TEE = "tee"
"""GNU coreutils tee (8.24 or newer, for `--output-error`), found on the stage's PATH."""
TAP_OUTPUT_LIMIT = 64 * 1024 * 1024
"""The most of the reader's stdout kept; the rest is read and dropped, so it never blocks."""
READ_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Tap:
    """A reader of a copy of a stage's output.

    Attributes:
        reader: the reading child (its argv, environment, name and error); it reads stdin.
        on_output: called with the reader's stdout once it exited 0; may raise.
        tee: the tee program.
    """

    reader: Stage
    on_output: Callable[[bytes], None]
    tee: str = TEE

    def tee_stage(self, tapped: Stage, fd: int) -> Stage:
        """Return the tee child that copies `tapped`'s output into descriptor `fd`.

        tee gets the reader's environment, not the tapped child's: that may hold a password.
        """
        return Stage(
            (self.tee, "--output-error=warn-nopipe", f"/dev/fd/{fd}"),
            self.reader.env,
            "tee",
            tapped.on_failure,
            tapped.redactor,
            pass_fds=(fd,),
        )


class _Collector(threading.Thread):
    """Read the reader's stdout to its end, keeping its first bytes."""

    def __init__(self, pipe: IO[bytes], limit: int = TAP_OUTPUT_LIMIT) -> None:
        super().__init__(name="lts-tap-output", daemon=True)
        self._pipe = pipe
        self._limit = limit
        self.output = bytearray()

    def run(self) -> None:
        """Read until end of file, then close the pipe (this thread owns it)."""
        try:
            fd = self._pipe.fileno()
            while chunk := os.read(fd, READ_BYTES):
                room = self._limit - len(self.output)
                if room > 0:
                    self.output += chunk[:room]
        except OSError:
            pass
        finally:
            self._pipe.close()


class RunningTap:
    """A started reader: its process, its stdout collector and its stderr tail."""

    def __init__(self, tap: Tap) -> None:
        self.tap = tap
        self._process: subprocess.Popen[bytes] | None = None
        self._collector: _Collector | None = None
        self._tail: StderrTail | None = None
        self.write_fd = -1

    def start(self) -> None:
        """Start the reader on a new pipe; `write_fd` is the pipe's end tee writes to.

        Raises:
            Exception: the reader stage's error when it cannot start (the pipe is closed then).
        """
        read_fd, write_fd = os.pipe()
        reader = self.tap.reader
        try:
            process = reader.spawn(read_fd)
        except BaseException:
            os.close(write_fd)
            raise
        finally:
            os.close(read_fd)
        self._process = process
        self.write_fd = write_fd
        assert process.stdout is not None  # noqa: S101 - Popen was given PIPE
        assert process.stderr is not None  # noqa: S101 - Popen was given PIPE
        self._collector = _Collector(process.stdout)
        self._collector.start()
        self._tail = StderrTail(process.stderr, reader.tool)
        self._tail.start()

    def close_write_end(self) -> None:
        """Close this process's copy of the pipe's write end (tee holds its own)."""
        if self.write_fd >= 0:
            os.close(self.write_fd)
            self.write_fd = -1

    def kill(self) -> None:
        """Kill the reader now; safe from any thread."""
        process = self._process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()

    def reap(self, join: Callable[[threading.Thread], None]) -> ChildFailure | None:
        """Wait for the reader and its threads; return its failure, or None when it exited 0."""
        self.close_write_end()
        process = self._process
        if process is None:
            return None
        process.wait()
        CHILDREN.unregister(process)
        for thread in (self._collector, self._tail):
            if thread is not None:
                join(thread)
        if process.returncode != 0:
            tail = self._tail.tail if self._tail is not None else b""
            return self.tap.reader.failure(process.returncode, tail)
        return None

    def deliver(self) -> None:
        """Hand the reader's stdout to `on_output` (after a successful `reap`)."""
        output = bytes(self._collector.output) if self._collector is not None else b""
        self.tap.on_output(output)
