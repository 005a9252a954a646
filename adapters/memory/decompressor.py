"""InMemoryDecompressor: undoes the stand-in zstd framing of InMemoryDumper, with switches."""

from __future__ import annotations

from collections.abc import Generator, Iterable

from ports.decompressor import Decompressor
from ports.errors import CompressionError

FRAME = b"ZSTD:"
"""What InMemoryDumper puts before a stream it 'compresses' with `zstd:N`."""


def zstd_frame(chunks: Iterable[bytes]) -> Generator[bytes, None, None]:
    """Yield `chunks` 'compressed': the frame marker first, then the chunks as they are."""
    yield FRAME
    yield from chunks


class InMemoryDecompressor(Decompressor):
    """Strips the frame marker of a whole stream.

    `fail` makes every decompression raise at the end of its stream; `missing` makes `version`
    raise as a host without zstd would. `decompressed` counts the streams decompressed.
    """

    def __init__(self, *, fail: bool = False, missing: bool = False) -> None:
        self.fail = fail
        self.missing = missing
        self.decompressed = 0

    def decompress(self, compressed: Iterable[bytes]) -> Generator[bytes, None, None]:
        """Yield the plaintext of a whole 'compressed' stream."""
        try:
            data = b"".join(compressed)
        finally:
            close = getattr(compressed, "close", None)
            if callable(close):
                close()
        if not data.startswith(FRAME):
            raise CompressionError("zstd failed to decompress (exit 1): unknown header")
        self.decompressed += 1
        yield data[len(FRAME) :]
        if self.fail:
            raise CompressionError("zstd failed to decompress (exit 1): corrupted block detected")

    def version(self) -> str:
        """Return a made-up version, or raise as a missing binary would."""
        if self.missing:
            raise CompressionError(
                "cannot run zstd: No such file or directory; zstd compresses and decompresses "
                "dumps: install it (Debian package zstd)"
            )
        return "1.5.4"
