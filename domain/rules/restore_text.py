"""RESTORE.txt: how to restore a run with stock tools, the exact commands for each stored file.

Written for the operator of ten years from now, who has gpg, zstd and pg_restore but not this
tool: every stored file gets its own command line, ready to paste into a POSIX shell (names are
shell-quoted), and each one says whether the file goes through `zstd -d` (`*.zst.gpg`) or not.
"""

from __future__ import annotations

import shlex

from domain.models.manifest import DumpRecord, DumpStatus, Manifest

DECRYPT = "gpg --decrypt"
DECOMPRESS = "zstd -d"


def restore_text(manifest: Manifest) -> bytes:
    """Return RESTORE.txt for `manifest`."""
    ok = [record for record in manifest.databases if record.status is DumpStatus.OK]
    listing = (
        "\n".join(
            f"  {r.file or '-':<40} {r.name}  ({r.status}, {_compression(r)})"
            for r in manifest.databases
        )
        or "  (no databases)"
    )
    commands = "\n\n".join(_database_commands(record) for record in ok) or "  (no dump to restore)"
    globals_record = manifest.globals
    if globals_record is not None and globals_record.status is DumpStatus.OK:
        roles = f"  {plain_command(globals_record)} | psql -d postgres"
    else:
        roles = "  (this run has no globals dump)"
    return _RESTORE.format(
        client=manifest.client,
        run_id=manifest.run_id,
        tier=manifest.tier,
        period=manifest.period,
        fingerprint=manifest.key_fingerprint,
        key_name=manifest.key_name,
        pg_dump=manifest.pg_dump_version,
        server=manifest.server_version,
        compression=manifest.compression,
        listing=listing,
        roles=roles,
        commands=commands,
    ).encode()


def plain_command(record: DumpRecord) -> str:
    """Return the shell pipeline that writes a stored file's plaintext to stdout."""
    command = f"{DECRYPT} {shlex.quote(record.file)}"
    if record.zstd:
        command += f" | {DECOMPRESS}"
    return command


def dbname_argument(database: str) -> str:
    """Return `--dbname=NAME` for pg_restore, as a conninfo when the name would be read as one.

    libpq takes a dbname holding `=` (or a URI) as a connection string, so such a name is
    written `dbname='...'` with its quotes and backslashes escaped.
    """
    if "=" in database or database.startswith(("postgresql://", "postgres://")):
        escaped = database.replace("\\", "\\\\").replace("'", "\\'")
        database = f"dbname='{escaped}'"
    return shlex.quote(f"--dbname={database}")


def _database_commands(record: DumpRecord) -> str:
    name = shlex.quote(record.name)
    return (
        f"  # {record.name}\n"
        f"  createdb {name}\n"
        f"  {plain_command(record)} | pg_restore {dbname_argument(record.name)} --no-owner"
    )


def _compression(record: DumpRecord) -> str:
    if record.compression:
        return record.compression
    return "zstd" if record.zstd else "pg_dump's own"


_RESTORE = """\
Restoring this backup run
=========================

Client {client}, run {run_id} ({tier} {period}).
Made with pg_dump {pg_dump} from PostgreSQL server {server}, compression {compression}.
Every file is OpenPGP-encrypted to key {key_name} (fingerprint {fingerprint}).
Files ending .zst.gpg hold a zstd-compressed stream: after gpg, `zstd -d` (Debian package
zstd) gives the pg_dump custom-format archive or SQL; files ending .dump.gpg hold the
archive itself (pg_dump compressed inside it).

Files (file name, database, status, compression):
{listing}

1. Check the files:          sha256sum -c SHA256SUMS
2. Import the private key:   gpg --import private-key.asc
3. Restore roles (optional):
{roles}
4. Restore each database into a new database of the same name (as a role that may create it):

{commands}

   For a parallel restore, or plain SQL, write the archive to a file first (same pipeline,
   `> db.dump` instead of `| pg_restore ...`), then:
     pg_restore --dbname=<name> --jobs=4 --no-owner db.dump
     pg_restore --file=db.sql db.dump

manifest.json lists every database with its file, size, sha256, status and compression; file
names of databases whose names are not plain ASCII are percent-encoded (see "name" in the
manifest). Use pg_restore of the same major version as pg_dump above, or newer.
"""
