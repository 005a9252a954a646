"""InMemoryFileShare and InMemoryShareOpener: a share held in a dict, with failure switches."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Iterator
from pathlib import PurePosixPath

from ports.errors import ShareUnavailableError
from ports.file_share import Entry, FileShare, MountOutcome, ShareOpener, ShareTarget, WriteReceipt

PARTIAL = ".partial"


class InMemoryFileShare(FileShare):
    """A share in memory: `files` maps paths to content, `dirs` holds directories.

    Failure switches: `mount_error` makes mount fail; `unmount_error` makes unmount fail;
    `already_mounted` makes mount report a reused mount; `fail_writes_after=N` lets N writes
    succeed and then raises `error`; `symlinks` are paths listed as symlinks.
    `broken` maps an operation name (`make_dirs`, `rename`, `replace`, `delete_tree`,
    `delete_file`, `read_stream`, `list_dir`) to the error it raises.
    `mounts`/`unmounts` count what happened and `deleted` lists removed paths.
    """

    def __init__(
        self,
        *,
        mount_error: Exception | None = None,
        unmount_error: Exception | None = None,
        already_mounted: bool = False,
        fail_writes_after: int | None = None,
        error: Exception | None = None,
        outcome: MountOutcome = MountOutcome.MOUNTED,
        broken: dict[str, Exception] | None = None,
    ) -> None:
        self.files: dict[PurePosixPath, bytes] = {}
        self.dirs: set[PurePosixPath] = {PurePosixPath(".")}
        self.symlinks: set[PurePosixPath] = set()
        self.deleted: list[PurePosixPath] = []
        self.broken = dict(broken or {})
        self.mount_error = mount_error
        self.unmount_error = unmount_error
        self.outcome = MountOutcome.REUSED if already_mounted else outcome
        self.fail_writes_after = fail_writes_after
        self.error = error or ShareUnavailableError("share write failed")
        self.mounted = False
        self.mounts = 0
        self.unmounts = 0
        self._writes = 0
        self._lock = threading.Lock()

    def mount(self) -> MountOutcome:
        """Mount, or raise `mount_error`."""
        if self.mount_error is not None:
            raise self.mount_error
        self.mounts += 1
        self.mounted = True
        return self.outcome

    def unmount(self) -> None:
        """Unmount, or raise `unmount_error`."""
        self.unmounts += 1
        if self.unmount_error is not None:
            raise self.unmount_error
        self.mounted = False

    def make_dirs(self, path: PurePosixPath) -> None:
        """Create `path` and its parents."""
        self._check("make_dirs")
        with self._lock:
            for part in (path, *path.parents):
                if part in self.files:
                    raise ShareUnavailableError(f"{part} exists and is not a directory")
            for part in (path, *path.parents):
                self.dirs.add(part)

    def write_stream(self, path: PurePosixPath, chunks: Iterable[bytes]) -> WriteReceipt:
        """Consume `chunks`; store them under `path` only if they all arrive."""
        with self._lock:
            self._writes += 1
            if self.fail_writes_after is not None and self._writes > self.fail_writes_after:
                raise self.error
            if path in self.files or path in self.dirs:
                raise ShareUnavailableError(f"{path} already exists")
            if path.parent not in self.dirs:
                raise ShareUnavailableError(f"{path.parent} does not exist")
        digest = hashlib.sha256()
        parts = []
        for chunk in chunks:
            digest.update(chunk)
            parts.append(chunk)
        content = b"".join(parts)
        with self._lock:
            self.files[path] = content
        return WriteReceipt(path, len(content), digest.hexdigest())

    def append_line(self, path: PurePosixPath, line: str) -> None:
        """Append `line` and a newline to the file, creating it."""
        self._check("append_line")
        with self._lock:
            if path.parent not in self.dirs or path in self.dirs:
                raise ShareUnavailableError(f"cannot append to {path}")
            self.files[path] = self.files.get(path, b"") + line.rstrip("\n").encode() + b"\n"

    def read_stream(self, path: PurePosixPath) -> Iterator[bytes]:
        """Yield the file's content."""
        self._check("read_stream")
        if path not in self.files:
            raise ShareUnavailableError(f"{path} does not exist")
        yield self.files[path]

    def rename(self, source: PurePosixPath, target: PurePosixPath) -> None:
        """Rename a file or a directory with everything under it."""
        self._check("rename")
        with self._lock:
            if target in self.files or target in self.dirs:
                raise ShareUnavailableError(f"{target} already exists")
            if target.parent not in self.dirs:
                raise ShareUnavailableError(f"{target.parent} does not exist")
            if source in self.files:
                self.files[target] = self.files.pop(source)
                return
            if source not in self.dirs:
                raise ShareUnavailableError(f"{source} does not exist")
            self.files = {_moved(p, source, target): c for p, c in self.files.items()}
            self.dirs = {_moved(p, source, target) for p in self.dirs}
            self.symlinks = {_moved(p, source, target) for p in self.symlinks}

    def replace(self, source: PurePosixPath, target: PurePosixPath) -> None:
        """Move the file `source` over `target` (which may exist) in one step."""
        self._check("replace")
        with self._lock:
            if source not in self.files or source in self.symlinks:
                raise ShareUnavailableError(f"{source} is not a file")
            if target in self.dirs or target in self.symlinks:
                raise ShareUnavailableError(f"{target} is not a file")
            if target.parent not in self.dirs:
                raise ShareUnavailableError(f"{target.parent} does not exist")
            self.files[target] = self.files.pop(source)

    def list_dir(self, path: PurePosixPath) -> list[Entry]:
        """Return the direct children of `path`, sorted by name."""
        self._check("list_dir")
        with self._lock:
            entries = {
                p.name: Entry(p.name, True) for p in self.dirs if p.parent == path and p != path
            }
            for p, content in self.files.items():
                if p.parent == path:
                    entries[p.name] = Entry(p.name, False, p in self.symlinks, len(content))
        return [entries[name] for name in sorted(entries)]

    def exists(self, path: PurePosixPath) -> bool:
        """Tell whether `path` is a file or directory."""
        return path in self.files or path in self.dirs

    def delete_file(self, path: PurePosixPath) -> None:
        """Delete one file."""
        self._check("delete_file")
        with self._lock:
            if self.files.pop(path, None) is None:
                raise ShareUnavailableError(f"{path} does not exist")
            self.deleted.append(path)

    def delete_tree(self, path: PurePosixPath) -> None:
        """Delete a directory and everything below it."""
        self._check("delete_tree")
        with self._lock:
            if path not in self.dirs:
                raise ShareUnavailableError(f"{path} does not exist")
            self.files = {p: c for p, c in self.files.items() if not _under(p, path)}
            self.dirs = {p for p in self.dirs if not _under(p, path)}
            self.deleted.append(path)

    def _check(self, operation: str) -> None:
        if operation in self.broken:
            raise self.broken[operation]

    def names(self) -> list[str]:
        """Return every stored file path as text, sorted (a convenience for assertions)."""
        return sorted(str(p) for p in self.files)


def _under(path: PurePosixPath, root: PurePosixPath) -> bool:
    return path == root or root in path.parents


def _moved(path: PurePosixPath, source: PurePosixPath, target: PurePosixPath) -> PurePosixPath:
    if _under(path, source):
        return target / path.relative_to(source)
    return path


class InMemoryShareOpener(ShareOpener):
    """Hands out one given share; `error` makes opening fail; `targets` records what was asked."""

    def __init__(self, share: FileShare, *, error: Exception | None = None) -> None:
        self.share = share
        self.error = error
        self.targets: list[ShareTarget] = []

    def open(self, target: ShareTarget) -> FileShare:
        """Return the share."""
        self.targets.append(target)
        if self.error is not None:
            raise self.error
        return self.share
