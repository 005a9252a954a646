"""Streams that count or hash the chunks passing through them, on the way to somewhere else."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator

from domain.models.manifest import DumpRecord


class CountingReader:
    """Pass chunks through while counting their bytes."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self.bytes = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self.bytes += len(chunk)
            yield chunk


class HashingReader:
    """Pass chunks through while counting bytes and computing their sha256."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self._digest = hashlib.sha256()
        self.bytes = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self._digest.update(chunk)
            self.bytes += len(chunk)
            yield chunk

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
