"""Streams that count or hash the chunks passing through them, on the way to somewhere else."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator

from domain.models.manifest import DumpRecord


def _close(chunks: Iterable[bytes]) -> None:
    close = getattr(chunks, "close", None)
    if callable(close):
        close()


class CountingReader:
    """Pass chunks through while counting their bytes; `close` closes the stream it reads."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self.bytes = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self.bytes += len(chunk)
            yield chunk

    def close(self) -> None:
        """Close the stream read (a child process stops); safe to call twice."""
        _close(self._chunks)


class HashingReader:
    """Pass chunks through while counting bytes and computing their sha256.

    `close` closes the stream it reads, so a consumer that stops early also stops the producer.
    """

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self._digest = hashlib.sha256()
        self.bytes = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self._digest.update(chunk)
            self.bytes += len(chunk)
            yield chunk

    def close(self) -> None:
        """Close the stream read (a child process stops); safe to call twice."""
        _close(self._chunks)

    @property
    def sha256(self) -> str:
        """Return the hex digest of what has passed so far."""
        return self._digest.hexdigest()

    def mismatch(self, record: DumpRecord) -> str | None:
        """Return why what passed differs from `record`, or None when it matches."""
        if self.bytes != record.bytes:
            return f"is {self.bytes} bytes, the manifest says {record.bytes}"
        if self.sha256 != record.sha256:
            return f"has sha256 {self.sha256}, the manifest says {record.sha256}"
        return None

    def drain(self) -> None:
        """Read the rest of the stream, for its size and hash."""
        for _ in self:
            pass
