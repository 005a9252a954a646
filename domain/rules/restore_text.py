"""RESTORE.txt: how to restore a run with stock tools, the exact commands for each stored file.

Written for the operator of ten years from now, who has gpg, zstd, pg_restore and psql but not
this tool: every stored file gets its own command line, ready to paste into a POSIX shell (names
are shell-quoted), and each one says whether the file goes through `zstd -d` (a zstd run's
files, also once a rekey renamed them `sales.dump.zst.<KEYID>.gpg`) or not. What follows the
plaintext archive (`db.dump`) is the same for both kinds: the database restored as dumped under
its own name (`pg_restore --create`), or under another name with its database-level properties
(SPEC 13), the row counts to compare, and the signature check of a signed run (SPEC 14).
"""

from __future__ import annotations

import shlex

from domain.models.manifest import SIGNATURE_FILE, DumpRecord, DumpStatus, Manifest
from domain.models.text import printable

DECRYPT = "gpg --decrypt"
DECOMPRESS = "zstd -d"
MAINTENANCE_DATABASE = "postgres"
"""The database pg_restore --create connects to first; it exists on every server."""
ARCHIVE = "db.dump"
"""The name the instructions give a decrypted archive written to a file."""
LIST_DATABASE_ENTRIES = (
    f"pg_restore --list --create {ARCHIVE} | grep -E '^[0-9]+; [0-9]+ [0-9]+ "
    "(DATABASE|COMMENT - DATABASE|ACL - DATABASE|SECURITY LABEL - DATABASE) ' > db.list"
)
"""The stock command that lists a dump's database-level entries (one line in RESTORE.txt)."""


def restore_text(manifest: Manifest) -> bytes:
    """Return RESTORE.txt for `manifest` (with the signature check when the run is signed)."""
    ok = [record for record in manifest.databases if record.status is DumpStatus.OK]
    listing = (
        "\n".join(
            f"  {printable(r.file) or '-':<40} {printable(r.name)}  "
            f"({r.status}, {printable(_compression(r))}{_entries(r)})"
            for r in manifest.databases
        )
        or "  (no databases)"
    )
    globals_record = manifest.globals
    if globals_record is not None and globals_record.status is DumpStatus.OK:
        roles = f"  {plain_command(globals_record)} | psql -d postgres"
    else:
        roles = "  (this run has no globals dump)"
    # Every value on one line, whatever it holds (a server version string, a database "x\ny").
    values = {
        "client": manifest.client,
        "run_id": manifest.run_id,
        "tier": manifest.tier,
        "period": manifest.period,
        "fingerprint": manifest.key_fingerprint,
        "key_name": manifest.key_name,
        "pg_dump": manifest.pg_dump_version,
        "server": manifest.server_version,
        "compression": manifest.compression,
    }
    text = _RESTORE.format(
        **{key: printable(str(value)) for key, value in values.items()},
        listing=listing,
        roles=roles,
        commands="\n\n".join(_database_commands(r) for r in ok) or "  (no dump to restore)",
        to_file="\n".join(_file_command(r) for r in ok) or "  (no dump to restore)",
        archive=ARCHIVE,
        list_database_entries=LIST_DATABASE_ENTRIES,
    )
    if manifest.signing_fingerprint:
        text += _SIGNED.format(signer=printable(manifest.signing_fingerprint), file=SIGNATURE_FILE)
    return text.encode()


def plain_command(record: DumpRecord) -> str:
    """Return the shell pipeline that writes a stored file's plaintext to stdout."""
    # Stored names hold no line break (domain/rules/naming.py); printable keeps even a damaged
    # manifest's name from starting a command line of its own.
    command = f"{DECRYPT} {shlex.quote(printable(record.file))}"
    if record.zstd:
        command += f" | {DECOMPRESS}"
    return command


def _database_commands(record: DumpRecord) -> str:
    if record.name == MAINTENANCE_DATABASE:
        # Every server has it (pg_restore connects to it), so --create would fail: its contents
        # go into the one that is there.
        restore = f"{plain_command(record)} | pg_restore --dbname={MAINTENANCE_DATABASE}"
        return (
            f"  # {MAINTENANCE_DATABASE}  (on every server already: restored into it)\n  {restore}"
        )
    # --create takes the name from the archive: no database name is on the command line, so
    # one libpq would read as a connection string (`hr=1`) cannot misdirect the restore.
    restore = f"{plain_command(record)} | pg_restore --create --dbname={MAINTENANCE_DATABASE}"
    # A newline in the name must not start a command line of its own.
    return f"  # {printable(record.name)}\n  {restore}"


def _file_command(record: DumpRecord) -> str:
    return f"  {plain_command(record)} > {ARCHIVE}    # {printable(record.name)}"


def _compression(record: DumpRecord) -> str:
    if record.compression:
        return record.compression
    return "zstd" if record.zstd else "pg_dump's own"


def _entries(record: DumpRecord) -> str:
    if record.toc_entries is None or record.status is not DumpStatus.OK:
        return ""
    return f", {record.toc_entries} TOC entries"


_RESTORE = """\
Restoring this backup run
=========================

Client {client}, run {run_id} ({tier} {period}).
Made with pg_dump {pg_dump} from PostgreSQL server {server}, compression {compression}.
Every file is OpenPGP-encrypted to key {key_name} (fingerprint {fingerprint}).
Files whose names hold .zst (sales.dump.zst.gpg, or sales.dump.zst.<KEYID>.gpg once
re-encrypted) hold a zstd-compressed stream: after gpg, `zstd -d` (Debian package zstd) gives
the pg_dump custom-format archive or SQL; the others (sales.dump.gpg) hold the archive itself
(pg_dump compressed inside it). The commands below say which is which.

Files (file name, database, status, compression, TOC entries when made):
{listing}

1. Check the files:          sha256sum -c SHA256SUMS
2. Import the private key:   gpg --import private-key.asc
3. Roles and tablespaces (a dump holds none of them; optional, as a superuser; errors saying a
   role "already exists" are expected, any other error is not):
{roles}

4. Restore each database under its own name, as dumped: everything of the database itself
   (its comment, settings, per-role settings, privileges, owner, encoding and locale), then its
   contents (the database must not exist on the target; as a superuser, or a role that may
   create it and own what it owns):

{commands}

5. Or write a dump's archive to a file first (plaintext: shred it when done), for a look
   inside, a parallel restore, or a restore under another name:
{to_file}

   Check it is whole:        pg_restore --list {archive} | head   ("TOC Entries: N", as listed
                             above and as toc_entries in manifest.json)
   Under its own name:       pg_restore --create --dbname=postgres --jobs=4 {archive}

   Or under another name: create it, restore the contents ...
                             createdb --template=template0 <name>
                             pg_restore --dbname=<name> --jobs=4 --no-owner {archive}
   ... then the database's own properties, which pg_restore applies only with --create
   (one command a line):
{list_database_entries}
pg_restore --create --use-list=db.list --file=db.sql {archive}
   In db.sql delete the CREATE DATABASE statement and the lines starting with a backslash, and
   write <name> where the source name stands right after DATABASE in ALTER DATABASE, COMMENT ON
   DATABASE, GRANT/REVOKE ... ON DATABASE and ALTER ROLE ... IN DATABASE (only there: a
   comment's text may hold the name too); then: psql -d <name> -f db.sql
   (Plain SQL of the whole dump: pg_restore --file=db.sql {archive})

6. Compare: manifest.json records each table's exact row count ("tables"), counted in the
   dump's own snapshot: SELECT count(*) FROM ONLY <schema>.<table> must match.

manifest.json lists every database with its file, size, sha256, status and compression. A file
name keeps the lower-case letters, digits, '_' and '-' of its database's name and
percent-encodes every other byte (upper case too, so no two names meet on a case-insensitive
share): see "name" in the manifest. A name above shown with backslash escapes holds characters
that are not printable. Use pg_restore and psql of the same major version as the server you
restore to (not older than pg_dump above).
"""

_SIGNED = """
The manifest is signed by key {signer}. Check it before anything else, with that
public key imported (gpg --import signing-key.pub.asc):
  gpg --verify {file} manifest.json
"Good signature" means manifest.json (every file's name, size and sha256 in it) is as the
backup wrote it. When that fails right after a re-encryption (rekey) was interrupted, the new
signature waits as {file}.<first 16 hex digits of sha256 of manifest.json>; check that one.
"""
