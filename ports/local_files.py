"""The LocalFiles port: private files on the job's own host (decrypted dumps, scratch files)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import PurePath
from typing import Protocol


@dataclass(frozen=True, slots=True)
class LocalFile:
    """A file written by LocalFiles: where it is and how many bytes it holds."""

    path: PurePath
    bytes: int


class LocalFiles(Protocol):
    """Files only the job's user may read (mode 0600), for plaintext that must leave no trace.

    Writes are streamed and atomic: the data goes to a private partial file that is renamed when
    complete, and removed (then the error re-raised) when the chunks raise. Raises LocalFileError
    with a one-line reason.
    """

    @abstractmethod
    def exists(self, path: PurePath) -> bool:
        """Tell whether anything exists at `path`."""

    @abstractmethod
    def regular_file_problem(self, path: PurePath) -> str | None:
        """Return why `path` is not a regular file the job can read, or None when it is.

        The reason reads after the path: "does not exist", "is a directory, not a file",
        "is a FIFO (named pipe), not a regular file", ...
        """

    @abstractmethod
    def write_private(self, path: PurePath, chunks: Iterable[bytes]) -> LocalFile:
        """Write `chunks` to a new 0600 file at `path`; an existing file is never overwritten."""

    @abstractmethod
    def write_scratch(self, chunks: Iterable[bytes], suffix: str = "") -> LocalFile:
        """Write `chunks` to a new 0600 file of a fresh name under the job's work root."""

    @abstractmethod
    def read_chunks(self, path: PurePath) -> Iterator[bytes]:
        """Yield the content of the regular file at `path` in chunks, never all at once.

        Raises LocalFileError (when iterated) for a missing, unreadable or non-regular file.
        """

    @abstractmethod
    def remove(self, path: PurePath) -> None:
        """Remove a file written here; a file that is already gone is fine."""
