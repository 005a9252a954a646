"""Stream bytes through a filter child process (gpg) without holding the stream in memory.

A feeder thread writes the input chunks to the child's stdin, a collector thread keeps the tail of
its stderr, and the calling thread yields stdout chunks. Failures of the input iterator win over
the child's exit status: the child is killed before its stdin is closed, so it never finishes a
complete-looking output from a truncated input.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import subprocess
import threading
from collections.abc import Callable, Generator, Iterable

PIPE_SIZE = 1024 * 1024
STDERR_LIMIT = 64 * 1024
THREAD_JOIN_SECONDS = 30.0
"""Bounds the wait for a feeder stuck inside the input iterator when the stream is closed early."""

logger = logging.getLogger("lts.gpg")


class _Feeder(threading.Thread):
    """Copy `plain` into the child's stdin, then close it; remember an input failure."""

    def __init__(self, process: subprocess.Popen[bytes], plain: Iterable[bytes]) -> None:
        super().__init__(name="gpg-feeder", daemon=True)
        self._process = process
        self._plain = plain
        self.stop = threading.Event()
        self.error: Exception | None = None

    def run(self) -> None:
        assert self._process.stdin is not None  # noqa: S101 - Popen was given stdin=PIPE
        stdin = self._process.stdin
        try:
            iterator = iter(self._plain)
            while not self.stop.is_set():
                try:
                    chunk = next(iterator)
                except StopIteration:
                    break
                except Exception as error:  # noqa: BLE001 - re-raised by the consuming generator
                    self.error = error
                    # Kill first: a closed stdin would let gpg finish a valid-looking message.
                    self._process.kill()
                    break
                if not self.stop.is_set() and not _write_all(stdin.fileno(), chunk):
                    break
        except Exception as error:  # noqa: BLE001 - iter() itself failed; same treatment
            self.error = error
            self._process.kill()
        finally:
            with contextlib.suppress(OSError):
                stdin.close()
            close = getattr(self._plain, "close", None)
            if callable(close):
                with contextlib.suppress(Exception):
                    close()


class _StderrCollector(threading.Thread):
    """Drain the child's stderr, keeping its last STDERR_LIMIT bytes."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        super().__init__(name="gpg-stderr", daemon=True)
        self._process = process
        self.text = bytearray()

    def run(self) -> None:
        assert self._process.stderr is not None  # noqa: S101 - Popen was given stderr=PIPE
        fd = self._process.stderr.fileno()
        while chunk := _read(fd, STDERR_LIMIT):
            self.text += chunk
            if len(self.text) > STDERR_LIMIT:
                del self.text[: len(self.text) - STDERR_LIMIT]


def _read(fd: int, size: int) -> bytes:
    try:
        return os.read(fd, size)
    except OSError:
        return b""


def _write_all(fd: int, data: bytes) -> bool:
    """Write all of `data`; return False once the child has gone (broken pipe, closed fd)."""
    view = memoryview(data)
    try:
        while view:
            written = os.write(fd, view)
            view = view[written:]
    except OSError:
        return False
    return True


def _enlarge_pipe(fd: int) -> None:
    # Bigger pipes mean fewer context switches and larger reads (Linux only, best effort).
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if set_size is not None:
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, set_size, PIPE_SIZE)


def filter_through(
    argv: list[str],
    env: dict[str, str],
    plain: Iterable[bytes],
    chunk_size: int,
    on_failure: Callable[[int, bytes], Exception],
) -> Generator[bytes, None, None]:
    """Yield the stdout of `argv` fed with `plain`.

    Raises the input iterator's own exception if it failed, else `on_failure(returncode, stderr)`
    when the child exits non-zero (returncode -1: it could not be started). Closing the generator
    early kills the child, reaps it, joins the threads and closes `plain`.
    """
    # gpg's argv holds paths and fingerprints only: passphrases reach it on a pipe.
    logger.info("running %s", " ".join(argv))
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            bufsize=0,
            close_fds=True,
        )
    except OSError as error:
        raise on_failure(-1, f"cannot start {argv[0]}: {error.strerror}".encode()) from None
    assert process.stdin is not None  # noqa: S101 - Popen was given the pipes
    assert process.stdout is not None  # noqa: S101
    assert process.stderr is not None  # noqa: S101
    _enlarge_pipe(process.stdin.fileno())
    _enlarge_pipe(process.stdout.fileno())
    feeder = _Feeder(process, plain)
    collector = _StderrCollector(process)
    feeder.start()
    collector.start()
    finished = False
    try:
        fd = process.stdout.fileno()
        while chunk := os.read(fd, chunk_size):
            yield chunk
        returncode = process.wait()
        if returncode != 0:
            # gpg died early: the feeder may still wait on the input, do not wait for it forever.
            feeder.stop.set()
        feeder.join(THREAD_JOIN_SECONDS)
        collector.join(THREAD_JOIN_SECONDS)
        finished = True
        if feeder.error is not None:
            raise feeder.error
        if returncode != 0:
            raise on_failure(returncode, bytes(collector.text))
    finally:
        if not finished:
            feeder.stop.set()
            if process.poll() is None:
                process.kill()
            process.wait()
            feeder.join(THREAD_JOIN_SECONDS)
            collector.join(THREAD_JOIN_SECONDS)
        process.stdout.close()
        if not collector.is_alive():
            process.stderr.close()
