"""Run the children of one pipeline: start, connect, feed, tail stderr, reap, judge.

`Running` is the machinery under `ProcessStream` and `collect`; it is not used directly by
adapters. The children are connected stdout to stdin by OS pipes, so the bytes between them never
pass through Python. Who owns what: the feeder thread owns the first child's stdin (and the input
it iterates), each tail thread owns one stderr pipe, the consumer owns the last stdout. So no
descriptor is ever closed while another thread may still use it (its number could be reused).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import subprocess
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO, Any

from adapters.process.registry import CHILDREN
from adapters.process.stage import Stage
from adapters.process.threads import Feeder, StderrTail, close_source

PIPE_SIZE = 1024 * 1024
"""Enlarged pipes mean fewer wake-ups and larger reads (Linux allows 1 MiB unprivileged)."""
JOIN_SECONDS = 30.0
"""Bounds waiting for a thread stuck in something we cannot interrupt (a slow input iterator,
a grandchild holding a stderr pipe open); the thread then ends on its own later."""

logger = logging.getLogger("lts.process")


@dataclass(frozen=True, slots=True)
class ChildResult:
    """How one child ended: its exit status and its stderr's tail (raw, not yet masked)."""

    tool: str
    returncode: int
    stderr: bytes


class Running:
    """The children of one pipeline from start to reaping; see the module docstring."""

    def __init__(
        self, stages: Sequence[Stage], source: Iterable[bytes] | None, *, drain: bool
    ) -> None:
        self._stages = tuple(stages)
        self._source = source
        self._drain = drain
        self._processes: list[subprocess.Popen[bytes]] = []
        self._tails: list[StderrTail] = []
        self._feeder: Feeder | None = None
        self._stdout: IO[bytes] | None = None
        self._done = False

    def start(self) -> None:
        """Start every child, connected in order, and the feeder.

        Raises:
            Exception: the stage's error when a child cannot start; whatever started is
                stopped and reaped first, and the input closed.
        """
        logger.info("running %s", " | ".join(stage.shown for stage in self._stages))
        try:
            self._start_children()
            if self._source is not None:
                stdin = _pipe(self._processes[0].stdin)
                _enlarge(stdin)
                self._feeder = Feeder(self._source, stdin, self.kill, drain=self._drain)
                self._feeder.start()
        except BaseException:
            self.abort()
            raise

    def _start_children(self) -> None:
        upstream: IO[bytes] | int = (
            subprocess.PIPE if self._source is not None else subprocess.DEVNULL
        )
        for stage in self._stages:
            try:
                process = subprocess.Popen(
                    list(stage.argv),
                    stdin=upstream,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    env=dict(stage.env),
                    pass_fds=stage.pass_fds,
                    bufsize=0,
                )
            except OSError as error:
                raise stage.error(stage.start_failure(error)) from None
            CHILDREN.register(process)
            self._processes.append(process)
            if not isinstance(upstream, int):
                # Only the two children may hold their pipe: when one dies the other notices.
                upstream.close()
            upstream = _pipe(process.stdout)
            self._stdout = upstream
            _enlarge(upstream)
            tail = StderrTail(_pipe(process.stderr), stage.tool)
            tail.start()
            self._tails.append(tail)

    def read(self, size: int) -> bytes:
        """Return the next bytes of the last child's output, b"" at its end."""
        assert self._stdout is not None  # noqa: S101 - start() has run
        return os.read(self._stdout.fileno(), size)

    def readinto(self, buffer: bytearray | memoryview) -> int:
        """Read the next bytes of the last child's output into `buffer`; 0 at its end."""
        assert self._stdout is not None  # noqa: S101 - start() has run
        return os.readv(self._stdout.fileno(), [buffer])

    def kill(self) -> None:
        """Kill every child now; safe from any thread (the consumer then sees the end)."""
        for process in self._processes:
            _kill(process)

    def finish(self) -> list[ChildResult]:
        """Reap every child after the output ended; raise the error that explains a failure.

        The input's own error wins (it caused the rest); then the most upstream child's failure,
        unless it only died writing to a child that had failed before it (a broken pipe).
        """
        results = self._reap(wait_feeder=True)
        feeder = self._feeder
        if feeder is not None and feeder.error is not None:
            raise feeder.error
        failures = [
            (stage, stage.failure(result.returncode, result.stderr))
            for stage, result in zip(self._stages, results, strict=True)
            if result.returncode != 0
        ]
        if failures:
            stage, failure = next(((s, f) for s, f in failures if not f.broken_pipe), failures[0])
            raise stage.error(failure)
        return results

    def stop_early(self) -> None:
        """Stop every child because the output is unusable; raise the failure that explains it.

        A child that had already failed on its own, or a failed input, explains more than the
        output does; when there is none this returns and the caller raises its own error.
        """
        ended = [process.poll() for process in self._processes]
        results = self._reap(wait_feeder=False)
        feeder = self._feeder
        if feeder is not None and feeder.error is not None:
            raise feeder.error
        for stage, returncode, result in zip(self._stages, ended, results, strict=True):
            if returncode is not None and returncode != 0:
                raise stage.error(stage.failure(returncode, result.stderr))

    def abort(self) -> None:
        """Kill and reap every child, stop the feeder and close the input; safe to call twice."""
        if not self._done:
            self._reap(wait_feeder=False)

    def _reap(self, *, wait_feeder: bool) -> list[ChildResult]:
        self._done = True
        feeder = self._feeder
        if not wait_feeder:
            if feeder is not None:
                feeder.stop.set()
            self.kill()
            # A ProcessStream input unblocks the feeder when its children die.
            kill_source = getattr(self._source, "kill", None)
            if callable(kill_source):
                kill_source()
        for process in self._processes:
            process.wait()
            CHILDREN.unregister(process)
        if self._stdout is not None:
            self._stdout.close()
        for tail in self._tails:
            _join(tail)
        if feeder is not None:
            # Normally the input is read to its end (drained); after a kill only briefly.
            _join(feeder, None if wait_feeder else JOIN_SECONDS)
        elif self._source is not None:
            close_source(self._source)
        return [
            ChildResult(stage.tool, process.returncode, tail.tail)
            for stage, process, tail in zip(
                self._stages, self._processes, self._tails, strict=False
            )
        ]


def _pipe(pipe: IO[bytes] | None) -> IO[bytes]:
    assert pipe is not None  # noqa: S101 - Popen was given PIPE for it
    return pipe


def _kill(process: subprocess.Popen[Any]) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()


def _join(thread: threading.Thread, timeout: float | None = JOIN_SECONDS) -> None:
    thread.join(timeout)
    if thread.is_alive():
        logger.warning("thread %s is still running; it ends on its own", thread.name)


def _enlarge(pipe: IO[bytes]) -> None:
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if set_size is not None:
        # Best effort: an older kernel, another platform or a lower limit keeps the default.
        with contextlib.suppress(OSError):
            fcntl.fcntl(pipe.fileno(), set_size, PIPE_SIZE)
