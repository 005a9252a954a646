"""The run manifest (SPEC section 7), its SHA256SUMS companion and the RESTORE.txt text."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.models.run import Tier
from domain.models.text import printable

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
    toc_entries: int | None = None
    table_data_entries: int | None = None
    large_objects: int | None = None
    tables: list[TableRows] | None = None

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

    def restore_text(self) -> bytes:
        """Return RESTORE.txt: how to restore this run with plain gpg and pg_restore."""
        # Every value on one line, whatever a name holds (a database named "x\ny", say).
        names = (
            "\n".join(
                f"  {printable(r.file):<40} {printable(r.name)}  ({r.status})"
                for r in self.databases
            )
            or "  (no databases)"
        )
        values = {
            "client": self.client,
            "run_id": self.run_id,
            "tier": self.tier,
            "period": self.period,
            "fingerprint": self.key_fingerprint,
            "key_name": self.key_name,
            "pg_dump": self.pg_dump_version,
            "server": self.server_version,
        }
        shown = {key: printable(str(value)) for key, value in values.items()}
        text = _RESTORE.format(**shown, names=names, list_database_entries=LIST_DATABASE_ENTRIES)
        if self.signing_fingerprint:
            signer = printable(self.signing_fingerprint)
            text += _SIGNED.format(signer=signer, file=SIGNATURE_FILE)
        return text.encode()


LIST_DATABASE_ENTRIES = (
    "pg_restore --list --create db.dump | grep -E '^[0-9]+; [0-9]+ [0-9]+ "
    "(DATABASE|COMMENT - DATABASE|ACL - DATABASE|SECURITY LABEL - DATABASE) ' > db.list"
)
"""The stock command that lists a dump's database-level entries (one line in RESTORE.txt)."""

_RESTORE = """\
Restoring this backup run
=========================

Client {client}, run {run_id} ({tier} {period}).
Made with pg_dump {pg_dump} from PostgreSQL server {server}.
Every file is OpenPGP-encrypted to key {key_name} (fingerprint {fingerprint}).

Files (file name, database, status):
{names}

1. Check the files:            sha256sum -c SHA256SUMS
2. Import the private key:     gpg --import private-key.asc
3. Decrypt one database dump:  gpg --output db.dump --decrypt <file>.dump.gpg
   Check it is whole:          pg_restore --list db.dump | head   ("TOC Entries: N", as
                               toc_entries in manifest.json)
4. Roles and tablespaces (a dump holds none of them; optional, as a superuser; errors saying a
   role "already exists" are expected, any other error is not):
                               gpg --decrypt globals.sql.gpg | psql -d postgres

5. Restore under the database's own name, with everything of the database itself (its comment,
   settings, per-role settings, privileges, owner, encoding and locale), then its contents:
                               pg_restore --create --dbname=postgres --jobs=4 db.dump

   Or under another name: create it, restore the contents ...
                               createdb --template=template0 <name>
                               pg_restore --dbname=<name> --jobs=4 --no-owner db.dump
   ... then the database's own properties, which pg_restore applies only with --create
   (one command a line):
{list_database_entries}
pg_restore --create --use-list=db.list --file=db.sql db.dump
   In db.sql delete the CREATE DATABASE statement and the lines starting with a backslash, and
   write <name> where the source name stands right after DATABASE in ALTER DATABASE, COMMENT ON
   DATABASE, GRANT/REVOKE ... ON DATABASE and ALTER ROLE ... IN DATABASE (only there: a
   comment's text may hold the name too); then: psql -d <name> -f db.sql
   (Plain SQL of the whole dump: pg_restore --file=db.sql db.dump)

6. Compare: manifest.json records each table's exact row count ("tables"), counted in the
   dump's own snapshot: SELECT count(*) FROM ONLY <schema>.<table> must match.

manifest.json lists every database with its file, size, sha256 and status. A file name keeps
the lower-case letters, digits, '_' and '-' of its database's name and percent-encodes every
other byte (upper case too, so no two names meet on a case-insensitive share): see "name" in the
manifest. A name above shown with backslash escapes holds characters that are not printable.
Use pg_restore and psql of the same major version as the server you restore to (not older than
pg_dump above).
"""

_SIGNED = """
The manifest is signed by key {signer}. Check it before anything else, with that
public key imported (gpg --import signing-key.pub.asc):
  gpg --verify {file} manifest.json
"Good signature" means manifest.json (every file's name, size and sha256 in it) is as the
backup wrote it. When that fails right after a re-encryption (rekey) was interrupted, the new
signature waits as {file}.<first 16 hex digits of sha256 of manifest.json>; check that one.
"""
