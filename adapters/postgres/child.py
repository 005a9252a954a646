"""Stream a child process's stdout as chunks and check how it ended.

Used for pg_dump and pg_dumpall: memory stays flat (one chunk at a time), stderr is drained in a
background thread and only its tail is kept, and the child is always killed and reaped when the
consumer stops early or anything fails, so no process or zombie outlives the generator.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
from collections.abc import Generator, Mapping, Sequence
from io import BufferedReader
from typing import cast

from adapters.postgres.text import one_line
from domain.models.redaction import Redactor
from ports.errors import DumpError

STDERR_TAIL_BYTES = 64 * 1024
STDERR_READ_BYTES = 4096
REAP_TIMEOUT_SECONDS = 30

logger = logging.getLogger(__name__)


class StderrTail(threading.Thread):
    """Drain a pipe to its end, keeping only its last bytes."""

    def __init__(self, pipe: BufferedReader, limit: int = STDERR_TAIL_BYTES) -> None:
        super().__init__(name="stderr-tail", daemon=True)
        self._pipe = pipe
        self._limit = limit
        self._tail = bytearray()

    def run(self) -> None:
        """Read until end of file; a child that floods stderr must never block on it."""
        while chunk := self._pipe.read1(STDERR_READ_BYTES):
            self._tail += chunk
            if len(self._tail) > self._limit:
                del self._tail[: len(self._tail) - self._limit]

    def text(self) -> str:
        """Return what was kept, decoded leniently."""
        return self._tail.decode("utf-8", errors="replace")


def stream_child(
    argv: Sequence[str],
    env: Mapping[str, str],
    *,
    tool: str,
    redactor: Redactor,
    chunk_size: int,
    magic: bytes | None = None,
) -> Generator[bytes, None, None]:
    """Yield the stdout of `argv` in chunks of `chunk_size` bytes.

    Raises:
        DumpError: the child cannot start, its output does not start with `magic`, it exits
            non-zero or by a signal (stderr masked by `redactor`), or it writes nothing.
    """
    logger.info("running %s", redactor.redact(" ".join(argv)))
    try:
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
        )
    except OSError as exc:
        raise DumpError(f"cannot start {tool}: {one_line(str(exc), redactor)}") from None
    # Both pipes exist: PIPE was asked for (the default buffering makes them BufferedReaders).
    stdout = cast(BufferedReader, process.stdout)
    stderr = StderrTail(cast(BufferedReader, process.stderr))
    stderr.start()
    try:
        total = 0
        # read(n) on a buffered pipe returns n bytes unless the output has ended.
        while chunk := stdout.read(chunk_size):
            if total == 0 and magic is not None and not chunk.startswith(magic):
                if len(chunk) < chunk_size:
                    # The output has ended: a failed child explains more than its output.
                    _check_exit(process, stderr, tool, redactor)
                raise DumpError(f"{tool} output does not start with {magic.decode()}: not a dump")
            total += len(chunk)
            yield chunk
        _check_exit(process, stderr, tool, redactor)
        if total == 0:
            raise DumpError(f"{tool} produced no output")
    finally:
        _reap(process, stderr)


def _check_exit(
    process: subprocess.Popen[bytes], stderr: StderrTail, tool: str, redactor: Redactor
) -> None:
    """Wait for the child, whose output has ended, and raise DumpError if it failed."""
    returncode = process.wait()
    stderr.join(REAP_TIMEOUT_SECONDS)
    if returncode == 0:
        return
    reason = one_line(stderr.text(), redactor)
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = str(-returncode)
        message = f"{tool} was killed by signal {name}"
    else:
        message = f"{tool} exited with {returncode}"
    raise DumpError(f"{message}: {reason}" if reason else message)


def _reap(process: subprocess.Popen[bytes], stderr: StderrTail) -> None:
    if process.poll() is None:
        process.kill()
    process.wait()
    stderr.join(REAP_TIMEOUT_SECONDS)
    for pipe in (process.stdout, process.stderr):
        if pipe is not None:
            pipe.close()
