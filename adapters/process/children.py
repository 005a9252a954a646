"""Run the children of one pipeline: start, connect, feed, tail stderr, reap, judge.

`Running` is the machinery under `ProcessStream` and `collect`; it is not used directly by
adapters. The children are connected stdout to stdin by OS pipes, so the bytes between them never
pass through Python; a child whose output is checked (pg_dump's archive) hands it on through a
relay thread (relay.py) that reads only its first bytes and splices the rest from pipe to pipe.
A stage with a tap is followed by a `tee` child feeding the tap's reader (see tap.py); the reader
is reaped and judged with the others, and a checked stage's relay comes after its tee, so the
check sees what goes on down the pipeline. Who owns what: the feeder thread owns the first
child's stdin (and the input it iterates), each relay the two pipe ends it joins, each tail
thread owns one stderr pipe, the consumer owns the last stdout. So no descriptor is ever closed
while another thread may still use it (its number could be reused).
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
from adapters.process.relay import Relay
from adapters.process.stage import ChildFailure, Stage
from adapters.process.tap import RunningTap
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
        self._started: list[Stage] = []
        """The stage of each process, in order: the given stages and the tees of their taps."""
        self._taps: list[RunningTap] = []
        self._tap_failures: list[tuple[Stage, ChildFailure]] = []
        self._tails: list[StderrTail] = []
        self._relays: list[Relay] = []
        self._ended_before_stop: list[int | None] | None = None
        self._feeder: Feeder | None = None
        self._stdout: IO[bytes] | None = None
        self._done = False

    def start(self) -> None:
        """Start every child, connected in order, and the feeder.

        Raises:
            Exception: the stage's error when a child cannot start; whatever started is
                stopped and reaped first, and the input closed.
        """
        logger.info("running %s", " | ".join(_shown(stage) for stage in self._stages))
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
        last = len(self._stages) - 1
        for index, stage in enumerate(self._stages):
            upstream = self._start_child(stage, upstream)
            if stage.tap is not None:
                tap = RunningTap(stage.tap)
                self._taps.append(tap)
                tap.start()
                try:
                    upstream = self._start_child(stage.tap.tee_stage(stage, tap.write_fd), upstream)
                finally:
                    # tee holds its own copy: the reader sees the end when tee exits.
                    tap.close_write_end()
            if index < last and (stage.magic or stage.require_output):
                upstream = self._relay(stage, upstream)
                self._stdout = upstream

    def _start_child(self, stage: Stage, upstream: IO[bytes] | int) -> IO[bytes]:
        """Start one child reading `upstream`; return its stdout, the next child's input."""
        process = stage.spawn(upstream)
        self._processes.append(process)
        self._started.append(stage)
        if not isinstance(upstream, int):
            # Only the two children may hold their pipe: when one dies the other notices.
            upstream.close()
        stdout = _pipe(process.stdout)
        self._stdout = stdout
        _enlarge(stdout)
        tail = StderrTail(_pipe(process.stderr), stage.tool, stage.stderr_limit)
        tail.start()
        self._tails.append(tail)
        return stdout

    def _relay(self, stage: Stage, output: IO[bytes]) -> IO[bytes]:
        """Check `stage`'s output on its way to the next child (relay.py); return its new end."""
        read_end, write_end = os.pipe()
        relayed = os.fdopen(read_end, "rb", buffering=0)
        for fd in (read_end, write_end):
            _enlarge_fd(fd)
        relay = Relay(stage, output, write_end, self.stop_refused)
        self._relays.append(relay)
        relay.start()
        return relayed

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
        for tap in self._taps:
            tap.kill()

    def stop_refused(self) -> None:
        """Kill every child because a relay refused an output; remember who had ended before.

        A child that had already failed on its own explains more than the refusal does.
        """
        if self._ended_before_stop is None:
            self._ended_before_stop = [process.poll() for process in self._processes]
        self.kill()

    def finish(self) -> list[ChildResult]:
        """Reap every child after the output ended; raise the error that explains a failure.

        The input's own error wins (it caused the rest); then an output a relay refused, unless
        a child failed on its own; then the most upstream child's failure, unless it only died
        writing to a child that had failed before it (a broken pipe). Tap readers are judged
        after that, by `judge_taps`, once the caller has judged the output.
        """
        results = self._reap(wait_feeder=True)
        feeder = self._feeder
        if feeder is not None and feeder.error is not None:
            raise feeder.error
        self._raise_refused_output(results)
        failures = [
            (stage, stage.failure(result.returncode, result.stderr))
            for stage, result in zip(self._started, results, strict=True)
            if result.returncode != 0
        ]
        if failures:
            stage, failure = next(((s, f) for s, f in failures if not f.broken_pipe), failures[0])
            raise stage.error(failure)
        return results

    def judge_taps(self) -> None:
        """Raise the first tap reader's failure; else hand every tap its reader's output.

        Called after `finish` and the caller's own checks of the output: a pipeline that failed,
        or wrote nothing usable, explains more than a reader of a copy of it.
        """
        if self._tap_failures:
            stage, failure = self._tap_failures[0]
            raise stage.error(failure)
        for tap in self._taps:
            tap.deliver()

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
        self._raise_refused_output(results)
        for stage, returncode, result in zip(self._started, ended, results, strict=True):
            if returncode is not None and returncode != 0:
                raise stage.error(stage.failure(returncode, result.stderr))

    def _raise_refused_output(self, results: list[ChildResult]) -> None:
        """Raise what explains an output a relay refused: a child's own failure, else the refusal.

        Without a kill (no output at all) every status is the child's own; after one, only those
        of the children that had ended before it. A broken pipe is a consequence, not a cause.
        """
        refused = next((relay for relay in self._relays if relay.failure is not None), None)
        if refused is None or refused.failure is None:
            return
        ended = self._ended_before_stop or [result.returncode for result in results]
        for stage, returncode, result in zip(self._started, ended, results, strict=False):
            if returncode is not None and returncode != 0:
                failure = stage.failure(returncode, result.stderr)
                if not failure.broken_pipe:
                    raise stage.error(failure)
        raise refused.stage.error(refused.failure)

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
        for relay in self._relays:
            _join(relay)
        for tail in self._tails:
            _join(tail)
        for tap in self._taps:
            failure = tap.reap(_join)
            if failure is not None:
                self._tap_failures.append((tap.tap.reader, failure))
        if feeder is not None:
            # Normally the input is read to its end (drained); after a kill only briefly.
            _join(feeder, None if wait_feeder else JOIN_SECONDS)
        elif self._source is not None:
            close_source(self._source)
        return [
            ChildResult(stage.tool, process.returncode, tail.tail)
            for stage, process, tail in zip(
                self._started, self._processes, self._tails, strict=False
            )
        ]


def _shown(stage: Stage) -> str:
    if stage.tap is None:
        return stage.shown
    return f"{stage.shown} | {stage.tap.tee} >({stage.tap.reader.shown})"


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
    _enlarge_fd(pipe.fileno())


def _enlarge_fd(fd: int) -> None:
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if set_size is not None:
        # Best effort: an older kernel, another platform or a lower limit keeps the default.
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, set_size, PIPE_SIZE)
