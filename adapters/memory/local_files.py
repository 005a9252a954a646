"""InMemoryLocalFiles: the job's private local files in a dict, with failure switches."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import PurePath, PurePosixPath

from ports.errors import LocalFileError
from ports.local_files import LocalFile, LocalFiles


class InMemoryLocalFiles(LocalFiles):
    """Local files in a dict, with failure switches.

    `broken` maps an operation (`write_private`, `write_scratch`, `read_chunks`, `remove`) to
    the error it raises. `removed` lists removed paths. `specials` maps paths that are not
    regular files to what they are ("a directory", "a FIFO (named pipe)").
    """

    def __init__(self, *, broken: Mapping[str, Exception] | None = None) -> None:
        self.specials: dict[PurePath, str] = {}
        self.files: dict[PurePath, bytes] = {}
        self.modes: dict[PurePath, int] = {}
        self.removed: list[PurePath] = []
        self.broken = dict(broken or {})
        self._scratch = 0

    def exists(self, path: PurePath) -> bool:
        """Tell whether `path` was written and not removed."""
        return path in self.files

    def regular_file_problem(self, path: PurePath) -> str | None:
        """Say what a special path is, or that a path was never written."""
        if path in self.specials:
            return f"is {self.specials[path]}, not a regular file"
        if path not in self.files:
            return "does not exist"
        return None

    def write_private(self, path: PurePath, chunks: Iterable[bytes]) -> LocalFile:
        """Store the chunks under `path` (mode 0600) only if they all arrive."""
        self._check("write_private")
        if path in self.files:
            raise LocalFileError(f"{path} already exists")
        content = b"".join(chunks)
        self.files[path] = content
        self.modes[path] = 0o600
        return LocalFile(path, len(content))

    def write_scratch(self, chunks: Iterable[bytes], suffix: str = "") -> LocalFile:
        """Store the chunks under a fresh name in `/work`."""
        self._check("write_scratch")
        self._scratch += 1
        return self.write_private(PurePosixPath(f"/work/scratch-{self._scratch}{suffix}"), chunks)

    def read_chunks(self, path: PurePath) -> Iterator[bytes]:
        """Yield the stored file in two halves; a missing file raises LocalFileError."""
        self._check("read_chunks")
        if path not in self.files:
            raise LocalFileError(f"cannot read {path}: No such file or directory")
        content = self.files[path]
        middle = len(content) // 2
        yield content[:middle]
        yield content[middle:]

    def remove(self, path: PurePath) -> None:
        """Remove a file; a missing one is fine."""
        self._check("remove")
        if self.files.pop(path, None) is not None:
            self.removed.append(path)

    def _check(self, operation: str) -> None:
        if operation in self.broken:
            raise self.broken[operation]
