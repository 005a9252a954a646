"""Feed a stream into a child's stdin and collect what it prints (pg_restore --list, psql).

Unlike a filter, the child may stop reading before the stream ends (`pg_restore --list` reads only
the archive's table of contents): the rest of the stream is then still read to its end and
dropped, so the producer (gpg) finishes and reports a damaged stream instead of being cut off.
An exception of the stream kills the child and is re-raised.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from io import BufferedReader
from typing import cast

from adapters.postgres.child import StderrTail
from domain.models.redaction import Redactor

STDOUT_LIMIT = 64 * 1024 * 1024
READ_BYTES = 64 * 1024
JOIN_SECONDS = 30

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FedResult:
    """How the child ended and what it printed (stdout capped, stderr's tail)."""

    returncode: int
    stdout: bytes
    stderr: str


class _Collector(threading.Thread):
    """Read a pipe to its end, keeping at most STDOUT_LIMIT bytes."""

    def __init__(self, pipe: BufferedReader) -> None:
        super().__init__(name="stdout-collector", daemon=True)
        self._pipe = pipe
        self.data = bytearray()

    def run(self) -> None:
        while chunk := self._pipe.read1(READ_BYTES):
            if len(self.data) < STDOUT_LIMIT:
                self.data += chunk[: STDOUT_LIMIT - len(self.data)]


def run_fed(
    argv: Sequence[str], env: Mapping[str, str], chunks: Iterable[bytes], redactor: Redactor
) -> FedResult:
    """Run `argv` with `chunks` on its stdin; raise OSError when it cannot start."""
    logger.info("running %s", redactor.redact(" ".join(argv)))
    process = subprocess.Popen(
        list(argv),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(env),
    )
    stdout = _Collector(cast(BufferedReader, process.stdout))
    stderr = StderrTail(cast(BufferedReader, process.stderr))
    stdout.start()
    stderr.start()
    stdin = process.stdin
    assert stdin is not None  # noqa: S101 - Popen was given stdin=PIPE
    finished = False
    try:
        listening = True
        for chunk in chunks:
            if listening:
                listening = _write_all(stdin.fileno(), chunk)
        finished = True
    finally:
        if not finished and process.poll() is None:
            process.kill()
        # The child may have closed its end first: it had read all it wanted.
        with contextlib.suppress(OSError):
            stdin.close()
        returncode = process.wait()
        stdout.join(JOIN_SECONDS)
        stderr.join(JOIN_SECONDS)
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()
    return FedResult(returncode, bytes(stdout.data), stderr.text())


def _write_all(fd: int, chunk: bytes) -> bool:
    """Write a chunk; return False once the child stopped reading (broken pipe)."""
    view = memoryview(chunk)
    try:
        while view:
            view = view[os.write(fd, view) :]
    except OSError:
        return False
    return True
