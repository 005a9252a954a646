"""Decrypt a stored dump into a private scratch file, checked against its manifest record."""

from __future__ import annotations

from contextlib import closing
from pathlib import PurePosixPath

from domain.models.manifest import DumpRecord
from domain.services.reading import PlainReader, open_plain
from ports.file_share import FileShare
from ports.local_files import LocalFile, LocalFiles


def decrypt_to_scratch(
    *,
    share: FileShare,
    run_dir: PurePosixPath,
    record: DumpRecord,
    reader: PlainReader,
    files: LocalFiles,
) -> tuple[LocalFile, str | None]:
    """Decrypt (and decompress) the stored file of `record` into a new 0600 scratch file.

    pg_restore seeks in it. The file is read through `open_plain`, the one read path (gpg, then
    `zstd -d` for a zstd run's file). Returns the file and, when the stored file is not what the
    manifest says (size, sha256), why; the caller removes the file then. Nothing is written when
    decryption or decompression fails.
    """
    opened = open_plain(share, run_dir / record.file, record, reader)
    with closing(opened.plain) as stream:
        scratch = files.write_scratch(stream, suffix=".dump")
    problem = opened.stored.mismatch(record)
    return scratch, None if problem is None else f"{record.file} {problem}"
