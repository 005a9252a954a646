"""The Decompressor port: undo the zstd compression around a stored file's plaintext (SPEC 7)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable
from typing import Protocol

from ports.streams import ByteStream


class Decompressor(Protocol):
    """Decompress streams that a separate zstd process compressed (`<name>.dump.zst.gpg`).

    `decompress` returns a stream that raises CompressionError at its end when the data does not
    decompress (damaged, or not zstd), and re-raises the compressed stream's own error (a
    DecryptionError) as it is; closing it early stops the decompression and closes `compressed`.
    """

    @abstractmethod
    def decompress(self, compressed: Iterable[bytes]) -> ByteStream:
        """Stream the decompression of `compressed`."""

    @abstractmethod
    def version(self) -> str:
        """Return the decompressor's version; raise CompressionError when it cannot run."""
