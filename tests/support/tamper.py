"""Replace a stored dump the way a careful attacker (or a bad copy) would: consistently.

The new plaintext is encrypted to the client's public key, written over the stored file, and the
run's manifest (`bytes`, `sha256`) and SHA256SUMS are made to agree with it, so that only what the
archive holds, compared with what the manifest recorded of it when it was made, can tell.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.support.gpg import KeyPair, decrypt, encrypt


def stored_plaintext(run_dir: Path, database: str, pair: KeyPair) -> bytes:
    """Return the decrypted dump of `database` in the run at `run_dir`."""
    return decrypt(pair, run_dir / dump_file(run_dir, database))


def dump_file(run_dir: Path, database: str) -> str:
    """Return the stored file name of `database` in the run's manifest."""
    manifest = json.loads((run_dir / "manifest.json").read_text())
    return str(next(d["file"] for d in manifest["databases"] if d["name"] == database))


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
