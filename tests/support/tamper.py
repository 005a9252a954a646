"""Replace a stored dump the way a careful attacker (or a bad copy) would: consistently.

The new plaintext is encrypted to the client's public key, written over the stored file, and the
run's manifest (`bytes`, `sha256`) and SHA256SUMS are made to agree with it, so that only what the
archive holds, compared with what the manifest recorded of it when it was made, can tell.

Two layers: `stored_plaintext`/`replace_dump` work on what gpg decrypts to (for a zstd run, the
zstd stream); `stored_archive`/`replace_archive` on the pg_dump archive itself, decompressed and
compressed again with the stock zstd when the manifest records a zstd compression, so a test
tampers with the archive the same way whatever the run's compression.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.support.gpg import KeyPair, decrypt, encrypt
from tests.support.zstd import unzstd, zstd


def stored_plaintext(run_dir: Path, database: str, pair: KeyPair) -> bytes:
    """Return the decrypted dump of `database` in the run at `run_dir`."""
    return decrypt(pair, run_dir / dump_file(run_dir, database))


def dump_file(run_dir: Path, database: str) -> str:
    """Return the stored file name of `database` in the run's manifest."""
    return str(_record(run_dir, database)["file"])


def zstd_compressed(run_dir: Path, database: str) -> bool:
    """Tell whether the manifest records `database`'s dump as compressed by a zstd process."""
    return str(_record(run_dir, database).get("compression", "")).startswith("zstd")


def stored_archive(run_dir: Path, database: str, pair: KeyPair) -> bytes:
    """Return the pg_dump archive of `database`: decrypted, and decompressed for a zstd run."""
    plaintext = stored_plaintext(run_dir, database, pair)
    return unzstd(plaintext) if zstd_compressed(run_dir, database) else plaintext


def replace_archive(run_dir: Path, database: str, archive: bytes, pair: KeyPair) -> None:
    """Store `archive` as `database`'s dump, compressed as the manifest says, made consistent."""
    plaintext = zstd(archive) if zstd_compressed(run_dir, database) else archive
    replace_dump(run_dir, database, plaintext, pair)


def _record(run_dir: Path, database: str) -> dict[str, object]:
    manifest = json.loads((run_dir / "manifest.json").read_text())
    record: dict[str, object] = next(d for d in manifest["databases"] if d["name"] == database)
    return record


def replace_dump(run_dir: Path, database: str, plaintext: bytes, pair: KeyPair) -> None:
    """Store `plaintext` as `database`'s dump, with the manifest and SHA256SUMS made to match."""
    file = dump_file(run_dir, database)
    stored = encrypt(pair, plaintext)
    (run_dir / file).write_bytes(stored)
    digest = hashlib.sha256(stored).hexdigest()
    manifest_path = run_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    for entry in manifest["databases"]:
        if entry["name"] == database:
            entry["bytes"] = len(stored)
            entry["sha256"] = digest
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    sums = run_dir / "SHA256SUMS"
    lines = [
        f"{digest}  {file}" if line.endswith(f"  {file}") else line
        for line in sums.read_text().splitlines()
    ]
    sums.write_text("\n".join(lines) + "\n")
