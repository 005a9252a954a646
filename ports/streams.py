"""ByteStream: the large data every port hands over, as chunks, never as one `bytes`."""

from abc import abstractmethod
from collections.abc import Iterator
from typing import Protocol, runtime_checkable


class ByteStream(Protocol):
    """Chunks of a stream that may hold a child process or a file open.

    Iterate it once to its end: a producer's failure (a child that exits non-zero, a damaged
    message) is raised when the stream ends, so a consumer that stops early never mistakes a
    truncated stream for a whole one. `close` ends it early and releases what it holds (kills
    its children); it is safe to call twice and after the end. Generators are ByteStreams.
    """

    @abstractmethod
    def __iter__(self) -> Iterator[bytes]:
        """Yield the chunks."""

    @abstractmethod
    def close(self) -> None:
        """Stop the stream and release what it holds."""


@runtime_checkable
class ReadableStream(ByteStream, Protocol):
    """A ByteStream that can also be read into a caller's buffer (a child's output pipe).

    A consumer that stores the bytes (FileShare.write_stream) reads with one reusable buffer
    instead of taking a new `bytes` per chunk. The stream is read one way or the other, never
    both; the end (0) and the producer's failure are signalled as when iterating.
    """

    @abstractmethod
    def readinto(self, buffer: bytearray | memoryview) -> int:
        """Read the next bytes into `buffer`; return their count, 0 at the end."""
