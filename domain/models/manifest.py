"""The run manifest (SPEC section 7) and its SHA256SUMS companion."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.models.compression import is_zstd, is_zstd_file
from domain.models.run import Tier

MANIFEST_FILE = "manifest.json"
SUMS_FILE = "SHA256SUMS"
RESTORE_FILE = "RESTORE.txt"
MANIFEST_FORMAT = 1
SIGNATURE_FILE = "manifest.json.asc"
"""The detached, armoured signature of manifest.json (SPEC 14)."""


class DumpStatus(StrEnum):
    """Whether a database's dump is usable."""

    OK = "ok"
    FAILED = "failed"


class TableRows(BaseModel):
    """One table's exact row count, counted in the dump's own snapshot (SPEC 13)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    schema_name: str = Field(alias="schema")
    table: str
    rows: int = Field(ge=0)

    @property
    def qualified(self) -> str:
        """Return `schema.table` for messages (names shown as they are, unquoted)."""
        return f"{self.schema_name}.{self.table}"


class DumpRecord(BaseModel):
    """One database's (or the globals') entry in the manifest.

    `toc_entries`, `table_data_entries`, `large_objects` and `tables` are what the dump held
    when it was made (its table of contents as `pg_restore --list` read it, and every table's row
    count in the dump's snapshot); verify and drill check archives against them. Manifests made
    before they were recorded lack them (None): such archives can only be checked for
    readability.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    file: str
    bytes: int = 0
    sha256: str = ""
    status: DumpStatus
    error: str = ""
    started: datetime
    finished: datetime
    compression: str = ""
    """How the file's plaintext is compressed: `gzip:6` inside the archive (pg_dump's own),
    `zstd:3` around it (a zstd process; the file ends `.zst.gpg`), `none`. Empty in manifests
    written before it was recorded: then the file name tells (see `zstd`)."""
    toc_entries: int | None = None
    table_data_entries: int | None = None
    large_objects: int | None = None
    tables: list[TableRows] | None = None

    @property
    def zstd(self) -> bool:
        """Tell whether the plaintext must go through `zstd -d` after gpg."""
        if self.compression:
            return is_zstd(self.compression)
        return is_zstd_file(self.file)

    @property
    def counted(self) -> bool:
        """Tell whether the manifest recorded this dump's table of contents counts."""
        return self.toc_entries is not None and self.table_data_entries is not None


class DigestEntry(BaseModel):
    """A database (or the globals) as retention and listing read it: name, status, size."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str
    status: DumpStatus
    bytes: int = Field(default=0, ge=0)
    error: str = ""


class GlobalsDigest(BaseModel):
    """The globals dump as the list job reads it: only its size."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    bytes: int = Field(default=0, ge=0)


class ManifestDigest(BaseModel):
    """The parts of a manifest that retention and the list job need, read leniently.

    A manifest from an older version of this tool, or one an operator wrote by hand, still
    tells which databases a run holds and whether they are ok; only those fields are required.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    databases: list[DigestEntry]
    globals: GlobalsDigest | None = None
    eoy_month: int | None = None

    @property
    def complete(self) -> bool:
        """Tell whether every database of the run is ok."""
        return all(entry.status is DumpStatus.OK for entry in self.databases)

    @property
    def total_bytes(self) -> int:
        """Return the bytes of every stored dump, globals included."""
        stored = sum(entry.bytes for entry in self.databases)
        return stored + (self.globals.bytes if self.globals else 0)


class Manifest(BaseModel):
    """What a run holds and how it was made; the source of truth for retention and restore."""

    model_config = ConfigDict(frozen=True)

    format: int = MANIFEST_FORMAT
    client: str
    run_id: str
    tier: Tier
    period: str
    eoy_month: int
    started: datetime
    finished: datetime
    tool_version: str
    server_version: str
    pg_dump_version: str
    archive_format: str
    compression: str
    key_name: str
    key_fingerprint: str
    escrow_fingerprint: str | None = None
    globals: DumpRecord | None = None
    databases: list[DumpRecord]
    signing_fingerprint: str | None = None
    """The primary fingerprint of the key that signed this manifest (manifest.json.asc)."""

    @property
    def complete(self) -> bool:
        """Tell whether every database dump of the run is ok."""
        return all(record.status is DumpStatus.OK for record in self.databases)

    def to_json(self) -> bytes:
        """Return the manifest as indented UTF-8 JSON."""
        return self.model_dump_json(indent=2, by_alias=True).encode() + b"\n"

    def sha256sums(self) -> bytes:
        """Return a `sha256sum -c` compatible listing of the run's stored files."""
        records = [self.globals, *self.databases] if self.globals else list(self.databases)
        lines = [
            f"{r.sha256}  {r.file}\n" for r in records if r.status is DumpStatus.OK and r.sha256
        ]
        return "".join(lines).encode()
