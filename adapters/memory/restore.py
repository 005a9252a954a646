"""InMemoryDecryptor, InMemoryRestorer and InMemoryLocalFiles: restore's ports as plain data."""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator, Mapping
from pathlib import PurePath, PurePosixPath

from pydantic import SecretStr

from adapters.memory.encryptor import HEADER, InMemoryEncryptor
from ports.database import ServerTarget
from ports.decryptor import DecryptionError, Decryptor, KeyInfo
from ports.local_files import LocalFile, LocalFileError, LocalFiles
from ports.restorer import (
    ArchiveListing,
    RestoreError,
    RestoreOptions,
    Restorer,
    RestoreTarget,
    TargetState,
)

DUMP_MAGIC = b"PGDMP"


class InMemoryDecryptor(Decryptor):
    """Undoes InMemoryEncryptor: data must start with `ENC:`.

    `passphrase` is the one that unlocks the key (another raises DecryptionError); `fail` makes
    every decryption raise at the end of its stream; `dispose_error` makes `dispose` fail.
    `loaded` tells whether a key is loaded and `disposals` counts `dispose` calls.
    """

    def __init__(
        self,
        *,
        passphrase: str = "key-passphrase",  # noqa: S107 - a test double's expected value
        fail: bool = False,
        dispose_error: Exception | None = None,
    ) -> None:
        self.passphrase = passphrase
        self.fail = fail
        self.dispose_error = dispose_error
        self.loaded = False
        self.disposals = 0

    def load_key(self, private_key: bytes, passphrase: SecretStr) -> KeyInfo:
        """Accept any key when `passphrase` is the expected one."""
        if passphrase.get_secret_value() != self.passphrase:
            raise DecryptionError("the private-key-passphrase does not unlock the private key")
        self.loaded = True
        return KeyInfo(fingerprint="F" * 40, user_ids=("acme",))

    def decrypt(self, cipher: Iterator[bytes] | Iterable[bytes]) -> Generator[bytes, None, None]:
        """Yield the plaintext of a whole in-memory 'encrypted' stream."""
        if not self.loaded:
            raise DecryptionError("no private key loaded")
        data = b"".join(cipher)
        if not data.startswith(HEADER):
            raise DecryptionError("gpg failed to decrypt: no valid OpenPGP data found")
        yield InMemoryEncryptor.decrypt(data)
        if self.fail:
            raise DecryptionError("gpg failed to decrypt: decryption failed: Bad session key")

    def dispose(self) -> None:
        """Forget the key, or raise `dispose_error`."""
        self.loaded = False
        self.disposals += 1
        if self.dispose_error is not None:
            raise self.dispose_error


class InMemoryLocalFiles(LocalFiles):
    """Local files in a dict, with failure switches.

    `broken` maps an operation (`write_private`, `write_scratch`, `read_chunks`, `remove`) to
    the error it raises. `removed` lists removed paths.
    """

    def __init__(self, *, broken: Mapping[str, Exception] | None = None) -> None:
        self.files: dict[PurePath, bytes] = {}
        self.modes: dict[PurePath, int] = {}
        self.removed: list[PurePath] = []
        self.broken = dict(broken or {})
        self._scratch = 0

    def exists(self, path: PurePath) -> bool:
        """Tell whether `path` was written and not removed."""
        return path in self.files

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


class InMemoryRestorer(Restorer):
    """A server's databases as data: `objects` maps existing databases to their object count.

    A restore reads the archive from `files`, needs it to start with `PGDMP`, and stores it in
    `restored`; a restored database then holds `tables` tables. `broken` maps an operation name
    (`inspect`, `create_database`, `drop_database`, `restore`, `apply_globals`, `count_tables`,
    `list_archive`, `to_sql`) to the error it raises. `targets` records every target asked for.
    """

    def __init__(
        self,
        files: InMemoryLocalFiles,
        *,
        objects: Mapping[str, int] | None = None,
        tables: int = 3,
        broken: Mapping[str, Exception] | None = None,
    ) -> None:
        self.files = files
        self.objects = dict(objects or {})
        self.tables = tables
        self.broken = dict(broken or {})
        self.restored: dict[str, bytes] = {}
        self.options: list[RestoreOptions] = []
        self.globals_sql: list[bytes] = []
        self.targets: list[RestoreTarget] = []
        self.dropped: list[str] = []

    def inspect(self, target: RestoreTarget) -> TargetState:
        """Return whether the database exists and its object count."""
        self._check("inspect", target)
        if target.database not in self.objects:
            return TargetState(exists=False)
        return TargetState(exists=True, objects=self.objects[target.database])

    def create_database(self, target: RestoreTarget) -> None:
        """Create an empty database."""
        self._check("create_database", target)
        if target.database in self.objects:
            raise RestoreError(f'database "{target.database}" already exists')
        self.objects[target.database] = 0

    def drop_database(self, target: RestoreTarget) -> None:
        """Drop a database."""
        self._check("drop_database", target)
        self.objects.pop(target.database, None)
        self.dropped.append(target.database)

    def restore(self, target: RestoreTarget, archive: PurePath, options: RestoreOptions) -> None:
        """Restore the archive file's content into the database."""
        self.options.append(options)
        self._check("restore", target)
        content = self.files.files.get(archive)
        if content is None:
            raise RestoreError(f"pg_restore: could not open input file {archive}")
        if not content.startswith(DUMP_MAGIC):
            raise RestoreError("pg_restore: input file does not appear to be a valid archive")
        self.restored[target.database] = content
        self.objects[target.database] = self.tables

    def apply_globals(self, server: ServerTarget, sql: Iterable[bytes]) -> int:
        """Record the globals SQL."""
        self._check("apply_globals", None)
        self.globals_sql.append(b"".join(sql))
        return 0

    def count_tables(self, target: RestoreTarget) -> int:
        """Return the tables of the database."""
        self._check("count_tables", target)
        return self.tables if target.database in self.restored else 0

    def list_archive(self, archive: Iterable[bytes]) -> ArchiveListing:
        """Consume the stream and list it when it is an archive."""
        data = b"".join(archive)
        self._check("list_archive", None)
        if not data.startswith(DUMP_MAGIC):
            raise RestoreError("pg_restore: input file does not appear to be a valid archive")
        return ArchiveListing(entries=data.count(b";"), tables=self.tables)

    def to_sql(self, archive: Iterable[bytes]) -> Generator[bytes, None, None]:
        """Yield `-- SQL of ` and the archive."""
        data = b"".join(archive)
        self._check("to_sql", None)
        if not data.startswith(DUMP_MAGIC):
            raise RestoreError("pg_restore: input file does not appear to be a valid archive")
        yield b"-- SQL of " + data

    def _check(self, operation: str, target: RestoreTarget | None) -> None:
        if target is not None:
            self.targets.append(target)
        if operation in self.broken:
            raise self.broken[operation]
