"""The threads of a running pipeline: the stderr tails and the feeder.

Each thread owns what it reads or writes and closes it when done (see children.py), so no
descriptor is closed while another thread may still use it.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable
from typing import IO

STDERR_TAIL_BYTES = 64 * 1024
STDERR_READ_BYTES = 16 * 1024


class StderrTail(threading.Thread):
    """Drain a child's stderr to its end, keeping its last bytes; a flood never blocks it."""

    def __init__(self, pipe: IO[bytes], tool: str, limit: int = STDERR_TAIL_BYTES) -> None:
        super().__init__(name=f"lts-stderr-{tool}", daemon=True)
        self._pipe = pipe
        self._limit = limit
        self._tail = bytearray()

    def run(self) -> None:
        """Read until end of file, then close the pipe (this thread owns it)."""
        try:
            fd = self._pipe.fileno()
            while chunk := os.read(fd, STDERR_READ_BYTES):
                self._tail += chunk
                if len(self._tail) > self._limit:
                    del self._tail[: len(self._tail) - self._limit]
        except OSError:
            pass
        finally:
            self._pipe.close()

    @property
    def tail(self) -> bytes:
        """Return what was kept."""
        return bytes(self._tail)


class Feeder(threading.Thread):
    """Write an input iterable to the first child's stdin, then close it and the input.

    When the input raises, `kill` stops the children first: a closed stdin would let gpg finish
    a complete-looking message from a truncated input. When the child stops reading (broken
    pipe), the input is read on to its end and dropped if `drain` is set (so that a producer's
    failure at its very end is still seen), else abandoned and closed.
    """

    def __init__(
        self,
        source: Iterable[bytes],
        stdin: IO[bytes],
        kill: Callable[[], None],
        *,
        drain: bool,
    ) -> None:
        super().__init__(name="lts-feeder", daemon=True)
        self._source = source
        self._stdin = stdin
        self._kill = kill
        self._drain = drain
        self.stop = threading.Event()
        self.error: Exception | None = None

    def run(self) -> None:
        """Copy the input, remember its failure, and close what this thread owns."""
        fd = self._stdin.fileno()
        listening = True
        try:
            iterator = iter(self._source)
            while not self.stop.is_set():
                chunk = next(iterator, None)
                if chunk is None:
                    break
                if listening and not self.stop.is_set():
                    listening = _write_all(fd, chunk)
                if not listening and not self._drain:
                    break
        except Exception as error:  # noqa: BLE001 - handed to the consumer, which raises it
            self.error = error
            self._kill()
        finally:
            with contextlib.suppress(OSError):
                self._stdin.close()
            close_source(self._source)


def close_source(source: object) -> None:
    """Close an input that can be closed (a generator, a ProcessStream); ignore its complaints."""
    close = getattr(source, "close", None)
    if callable(close):
        with contextlib.suppress(Exception):
            close()


def _write_all(fd: int, data: bytes) -> bool:
    """Write all of `data`; return False once the child stopped reading (broken pipe)."""
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view) :]
    except OSError:
        return False
    return True
