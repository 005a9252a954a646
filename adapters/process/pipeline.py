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
        elif self._state is _State.NEW and self._source is not None:
            close_source(self._source)
        if self._state is not _State.HANDED_OVER:
            self._state = _State.CLOSED

    def kill(self) -> None:
        """Kill the running children from any thread; the iterating thread then sees a failure."""
        running = self._running
        if running is not None:
            running.kill()

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
        stage = self._stages[-1]
        magic = stage.magic or b""
        head = b""
        checked = not magic
        total = 0
        while chunk := running.read(self._chunk_size):
            if not checked:
                # A read may return fewer bytes than the magic: gather them first.
                head += chunk
                if len(head) < len(magic):
                    continue
                if not head.startswith(magic):
                    running.stop_early()
                    raise stage.error(stage.wrong_start())
                chunk, head, checked = head, b"", True
            total += len(chunk)
            yield chunk
        # A failed child explains more than its output does.
        running.finish()
        if head:
            raise stage.error(stage.wrong_start())
        if total == 0 and stage.require_output:
            raise stage.error(stage.no_output())
        running.judge_taps()


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
