"""Decrypt a stored dump into a private scratch file, checked against its manifest record."""

from __future__ import annotations

from contextlib import closing
from pathlib import PurePosixPath

from domain.models.manifest import DumpRecord
from domain.services.streams import HashingReader
from ports.decryptor import DecryptionKeys
from ports.file_share import FileShare
from ports.local_files import LocalFile, LocalFiles


def decrypt_to_scratch(
    *,
    share: FileShare,
    run_dir: PurePosixPath,
    record: DumpRecord,
    keys: DecryptionKeys,
    files: LocalFiles,
) -> tuple[LocalFile, str | None]:
    """Decrypt the stored file of `record` into a new 0600 scratch file (pg_restore seeks in it).

    Returns the file and, when the stored file is not what the manifest says (size, sha256),
    why; the caller removes the file then. Nothing is written when decryption fails.
    """
    reader = HashingReader(share.read_stream(run_dir / record.file))
    with closing(keys.decrypt(reader)) as stream:
        scratch = files.write_scratch(stream, suffix=".dump")
    problem = reader.mismatch(record)
    return scratch, None if problem is None else f"{record.file} {problem}"
