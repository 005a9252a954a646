"""Read a stored file back to its plaintext: the one way every job that decrypts does it.

share → `gpg --decrypt` → `zstd -d` (for a file whose plaintext a zstd process compressed,
SPEC 7) as one stream: the adapters connect gpg and zstd by an OS pipe. The stored bytes are
hashed as they are read, so the caller compares them with the manifest once the plaintext has
been consumed. Restore, decrypt, verify and the drill all read dumps through `open_plain`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from domain.models.manifest import DumpRecord
from domain.services.streams import HashingReader
from ports.decompressor import Decompressor
from ports.decryptor import DecryptionKeys
from ports.file_share import FileShare
from ports.streams import ByteStream


@dataclass(frozen=True, slots=True)
class PlainReader:
    """What reads stored files back: the loaded private key and the decompressor."""

    keys: DecryptionKeys
    decompressor: Decompressor


@dataclass(frozen=True, slots=True)
class OpenedFile:
    """A stored file being read: its stored bytes as hashed, and its plaintext stream.

    Read `plain` to its end (or close it), then compare `stored` with the manifest record.
    """

    stored: HashingReader
    plain: ByteStream


def open_plain(
    share: FileShare, path: PurePosixPath, record: DumpRecord, reader: PlainReader
) -> OpenedFile:
    """Open the stored file `path` of `record` as its plaintext stream (decrypted, decompressed)."""
    stored = HashingReader(share.read_stream(path))
    plain = reader.keys.decrypt(stored)
    if record.zstd:
        plain = reader.decompressor.decompress(plain)
    return OpenedFile(stored, plain)
