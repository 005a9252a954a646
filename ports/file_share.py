"""The FileShare port: a client's backup storage, and the ShareOpener that picks one."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Protocol

from pydantic import SecretStr


class MountOutcome(StrEnum):
    """What `mount` did, so that only a share this run mounted is unmounted."""

    MOUNTED = "mounted"
    REUSED = "reused"
    NOT_NEEDED = "not needed"


@dataclass(frozen=True, slots=True)
class WriteReceipt:
    """What was written: the byte count and sha256 (hex) of the stored file."""

    path: PurePosixPath
    bytes: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Entry:
    """One directory entry. Symlinks are reported as such and never followed."""

    name: str
    is_dir: bool
    is_symlink: bool = False
    size: int = 0


@dataclass(frozen=True, slots=True)
class ShareTarget:
    """Where a client's share is and how to log in to it (from the client config)."""

    client: str
    unc: str
    user: str | None = None
    key: SecretStr | None = None


class FileShare(Protocol):
    """A client's backup storage: a mounted share, a local directory, or SMB.

    Paths are relative to the share root. Writes are atomic: a file is written as `<name>.partial`,
    flushed to stable storage and renamed, so nothing appears under its final name until complete;
    when the chunks raise, the partial file is removed and the error re-raised. Data is streamed,
    never held whole in memory. Raises ShareUnavailableError (ShareFullError when out of space)
    when the share cannot be reached or written. Never follows symlinks when listing or deleting.
    """

    @abstractmethod
    def mount(self) -> MountOutcome:
        """Make the share usable; reuse an existing mount of the same share."""

    @abstractmethod
    def unmount(self) -> None:
        """Release a mount made by `mount`."""

    @abstractmethod
    def make_dirs(self, path: PurePosixPath) -> None:
        """Create a directory and its parents; existing ones are fine."""

    @abstractmethod
    def write_stream(self, path: PurePosixPath, chunks: Iterable[bytes]) -> WriteReceipt:
        """Write `chunks` atomically to `path` (which must not exist) and return the receipt."""

    @abstractmethod
    def append_line(self, path: PurePosixPath, line: str) -> None:
        """Append one line of text to a log file (created when absent), durably.

        For audit logs such as `retention.log`: the only write that is not atomic-by-rename.
        """

    @abstractmethod
    def read_stream(self, path: PurePosixPath) -> Iterator[bytes]:
        """Yield the content of a file in chunks."""

    @abstractmethod
    def rename(self, source: PurePosixPath, target: PurePosixPath) -> None:
        """Rename a file or directory; the target must not exist."""

    @abstractmethod
    def replace(self, source: PurePosixPath, target: PurePosixPath) -> None:
        """Rename the file `source` to `target`, replacing `target` atomically when it exists.

        Readers see the old `target` or the new one, never neither (POSIX rename; SMB rename
        with ReplaceIfExists). Directories and symlinks are refused on either side. For
        switching a run to a new manifest (rekey); every other write uses `write_stream`.
        """

    @abstractmethod
    def list_dir(self, path: PurePosixPath) -> list[Entry]:
        """Return the entries of a directory sorted by name; a missing directory is empty."""

    @abstractmethod
    def exists(self, path: PurePosixPath) -> bool:
        """Tell whether a file or directory exists at `path` (a symlink counts as existing)."""

    @abstractmethod
    def delete_file(self, path: PurePosixPath) -> None:
        """Delete one file (or symlink, never its target)."""

    @abstractmethod
    def delete_tree(self, path: PurePosixPath) -> None:
        """Delete a directory and everything in it, without following symlinks."""


class ShareOpener(Protocol):
    """Build the FileShare adapter that fits a share target (chosen by its URL scheme)."""

    @abstractmethod
    def open(self, target: ShareTarget) -> FileShare:
        """Return the share for `target`; raise ShareUnavailableError for an unknown scheme."""
