"""ProcessStream: the output of a pipeline of children, as a lazy ByteStream.

`pg_dump | gpg --encrypt` is one ProcessStream of two stages: the children are connected by an OS
pipe and Python reads only gpg's output, in large chunks. Nothing starts until the stream is
iterated; `then` appends a stage before that, so adapters compose (the dumper returns pg_dump's
stream, the encryptor appends gpg). A stream may be fed from any iterable of bytes (a file on the
share, another adapter's generator); a feeder thread writes it to the first child.

Guarantees: every child's exit status is checked when the output ends, and the error raised is
the one that explains the others (see `Running.finish`); the input's own error is re-raised as it
is; a failure, or `close` before the end, kills every child, reaps it, joins the threads and
closes the input, so no process, zombie or thread outlives the stream. Tested with real processes
in tests/integration/test_process_pipeline.py.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator, Sequence
from enum import Enum

from adapters.process.children import Running
from adapters.process.stage import Stage
from adapters.process.threads import close_source
from ports.streams import ByteStream

CHUNK_SIZE = 1024 * 1024
"""Bytes asked for per read of the output; a read returns what the pipe holds, up to this."""


class _State(Enum):
    NEW = "new"
    STARTED = "started"
    CLOSED = "closed"
    HANDED_OVER = "handed over"


class ProcessStream(ByteStream, Iterator[bytes]):
    """The last stage's stdout of a pipeline of children, started on first iteration.

    Args:
        stages: the children, in pipeline order (stdout of one is stdin of the next).
        source: input written to the first child's stdin; None gives it /dev/null.
        drain_source: when the first child stops reading early, read `source` on to its end
            anyway, so that its failure (a damaged encrypted stream) is raised, not hidden.
        chunk_size: the most bytes one chunk holds.
    """

    def __init__(
        self,
        stages: Sequence[Stage],
        *,
        source: Iterable[bytes] | None = None,
        drain_source: bool = False,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        if not stages:
            raise ValueError("a ProcessStream needs at least one stage")
        self._stages = tuple(stages)
        self._source = source
        self._drain_source = drain_source
        self._chunk_size = chunk_size
        self._state = _State.NEW
        self._chunks: Generator[bytes, None, None] | None = None
        self._running: Running | None = None
        self._check: _OutputCheck | None = None
        self._read_into = False

    @property
    def stages(self) -> tuple[Stage, ...]:
        """Return the stages, in pipeline order."""
        return self._stages

    @property
    def startable(self) -> bool:
        """Tell whether the stream has not started, been closed or handed over yet."""
        return self._state is _State.NEW

    def then(self, stage: Stage, *, chunk_size: int | None = None) -> ProcessStream:
        """Return a stream of this pipeline with `stage` appended, reading this one's output.

        This stream hands everything over to the new one and must not be used afterwards.

        Raises:
            RuntimeError: this stream has started, been closed or handed over already.
        """
        self._expect_new("then()")
        self._state = _State.HANDED_OVER
        return ProcessStream(
            (*self._stages, stage),
            source=self._source,
            drain_source=self._drain_source,
            chunk_size=self._chunk_size if chunk_size is None else chunk_size,
        )

    def __iter__(self) -> ProcessStream:
        """Return the stream itself: it is iterated once."""
        return self

    def __next__(self) -> bytes:
        """Return the next chunk; start the children on the first call."""
        if self._chunks is None:
            self._expect_new("iteration")
            self._state = _State.STARTED
            self._chunks = self._generate()
        return next(self._chunks)

    def close(self) -> None:
        """Kill and reap the children, join the threads, close the input; safe to call twice."""
        if self._chunks is not None:
            self._chunks.close()
        elif self._running is not None:
            self._stop_reading(self._running)
        elif self._state is _State.NEW and self._source is not None:
            close_source(self._source)
        if self._state is not _State.HANDED_OVER:
            self._state = _State.CLOSED

    def kill(self) -> None:
        """Kill the running children from any thread; the iterating thread then sees a failure."""
        running = self._running
        if running is not None:
            running.kill()

    def readinto(self, buffer: bytearray | memoryview) -> int:
        """Read the next bytes into `buffer` and return how many; 0 at the end.

        The fast path for a consumer that stores the output (FileShare.write_stream): one
        reusable buffer instead of a new `bytes` per chunk. Starts the children on the first
        call; at the end every child is checked as when iterating, and any failure kills and
        reaps them all. A stream is read either by iteration or by `readinto`, not both.

        Raises:
            RuntimeError: the stream is being iterated, or was closed or handed over unread.
        """
        if self._chunks is not None:
            raise RuntimeError("readinto() on a ProcessStream that is being iterated")
        running = self._running
        if running is None:
            if self._read_into:
                # Ended, failed or closed since: nothing more to read.
                return 0
            self._expect_new("readinto()")
            self._state = _State.STARTED
            self._read_into = True
            running = Running(self._stages, self._source, drain=self._drain_source)
            running.start()
            self._running = running
            self._check = _OutputCheck(self._stages[-1], running)
        check = self._check
        assert check is not None  # noqa: S101 - set with the running children
        try:
            count = running.readinto(buffer)
            if count:
                check.admit(memoryview(buffer)[:count])
                return count
            check.end()
        except BaseException:
            self._stop_reading(running)
            raise
        self._stop_reading(running)
        return 0

    def _stop_reading(self, running: Running) -> None:
        running.abort()
        self._running = None
        self._check = None

    def _expect_new(self, what: str) -> None:
        if self._state is not _State.NEW:
            raise RuntimeError(f"{what} on a ProcessStream that is {self._state.value}")

    def _generate(self) -> Generator[bytes, None, None]:
        running = Running(self._stages, self._source, drain=self._drain_source)
        running.start()
        self._running = running
        try:
            yield from self._read(running)
        finally:
            running.abort()
            self._running = None

    def _read(self, running: Running) -> Generator[bytes, None, None]:
        check = _OutputCheck(self._stages[-1], running)
        while chunk := running.read(self._chunk_size):
            check.admit(chunk)
            yield chunk
        check.end()


class _OutputCheck:
    """Judge the last child's output as it passes: its first bytes, its size, every exit status.

    The magic bytes are compared as they arrive (a read may return fewer bytes than the magic),
    so nothing is held back: output that turns out wrong raises before the stream ends, and a
    consumer never takes a stream that raised for a whole one.
    """

    def __init__(self, stage: Stage, running: Running) -> None:
        self._stage = stage
        self._running = running
        self._magic = stage.magic or b""
        self.total = 0

    def admit(self, data: bytes | memoryview) -> None:
        """Check the bytes just read; raise the stage's error when the output starts wrong."""
        seen = self.total
        self.total += len(data)
        if seen >= len(self._magic):
            return
        expected = self._magic[seen : seen + len(data)]
        if data[: len(expected)] != expected:
            # A child that failed on its own explains more than its output does.
            self._running.stop_early()
            raise self._stage.error(self._stage.wrong_start())

    def end(self) -> None:
        """Reap the children after the output ended; raise what explains a failure."""
        # A failed child explains more than its output does.
        self._running.finish()
        if 0 < self.total < len(self._magic):
            raise self._stage.error(self._stage.wrong_start())
        if self.total == 0 and self._stage.require_output:
            raise self._stage.error(self._stage.no_output())
        self._running.judge_taps()


def stream_through(
    source: Iterable[bytes],
    stage: Stage,
    *,
    chunk_size: int = CHUNK_SIZE,
    drain_source: bool = False,
) -> ProcessStream:
    """Return the output of `stage` reading `source`.

    When `source` is a ProcessStream that has not started, the child reads its last child's
    output directly (`source.then(stage)`: no byte passes through Python); otherwise a feeder
    thread writes `source` to it. A stage that may stop reading early (`drain_source`) is always
    fed, so that `source` is read to its end and its failure seen.
    """
    if isinstance(source, ProcessStream) and source.startable and not drain_source:
        return source.then(stage, chunk_size=chunk_size)
    return ProcessStream([stage], source=source, drain_source=drain_source, chunk_size=chunk_size)
