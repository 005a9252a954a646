"""The rekey protocol's names: new file names, pending files, debris."""

import json
from typing import Any

import pytest

from domain.rules.rekeying import (
    NewKeys,
    StoredFile,
    base_name,
    debris,
    key_tag,
    needs_rekey,
    pending_signature,
    rekeyed_manifest,
    rekeyed_name,
)

KEY = "0123456789ABCDEF0123456789ABCDEF01234567"
ESCROW = "FEDCBA9876543210FEDCBA9876543210FEDCBA98"
TAG = "89ABCDEF01234567"


@pytest.mark.parametrize(
    ("file", "new"),
    [
        ("sales.dump.gpg", f"sales.dump.{TAG}.gpg"),
        ("sales.dump.zst.gpg", f"sales.dump.zst.{TAG}.gpg"),
        ("globals.sql.gpg", f"globals.sql.{TAG}.gpg"),
        (f"sales.dump.{'1' * 16}.gpg", f"sales.dump.{TAG}.gpg"),
        (f"sales.dump.{'1' * 16}-{'2' * 16}.gpg", f"sales.dump.{TAG}.gpg"),
        ("caf%C3%A9.dump.gpg", f"caf%C3%A9.dump.{TAG}.gpg"),
    ],
)
def test_a_re_encrypted_file_keeps_its_extensions_and_carries_the_new_key_id(file, new):
    assert rekeyed_name(file, key_tag(KEY, None)) == new


def test_the_tag_names_the_escrow_key_too_so_an_escrow_change_gets_new_names():
    assert key_tag(KEY, ESCROW) == f"{TAG}-{ESCROW[-16:]}"
    assert rekeyed_name("a.dump.gpg", key_tag(KEY, ESCROW)) != rekeyed_name(
        "a.dump.gpg", key_tag(KEY, None)
    )
    assert base_name(f"a.dump.{key_tag(KEY, ESCROW)}.gpg") == "a.dump"


def test_a_run_needs_a_rekey_when_its_key_or_escrow_differs():
    keys = NewKeys("acme", KEY, ESCROW)
    assert not needs_rekey(KEY.lower(), ESCROW, keys)
    assert needs_rekey("F" * 40, ESCROW, keys)
    assert needs_rekey(KEY, None, keys)


def test_debris_is_other_copies_of_stored_files_and_pending_files_only():
    stored = {f"sales.dump.{TAG}.gpg", "globals.sql.gpg"}
    names = [
        "manifest.json",
        "manifest.json.asc",
        "SHA256SUMS",
        "RESTORE.txt",
        "HOLD",
        "notes.txt",
        *stored,
        "sales.dump.gpg",
        f"globals.sql.{TAG}.gpg.partial",
        f"sales.dump.{TAG}.gpg.partial",
        "manifest.json.next",
        "SHA256SUMS.next",
        "RESTORE.txt.next",
        "manifest.json.asc.0123456789abcdef",
        "other.dump.gpg",
    ]
    assert debris(names, stored) == sorted(
        [
            "sales.dump.gpg",
            f"globals.sql.{TAG}.gpg.partial",
            f"sales.dump.{TAG}.gpg.partial",
            "manifest.json.next",
            "SHA256SUMS.next",
            "RESTORE.txt.next",
            "manifest.json.asc.0123456789abcdef",
        ]
    )


def test_a_pending_signature_is_named_after_the_manifest_it_signs():
    assert pending_signature(b"one") != pending_signature(b"two")
    assert pending_signature(b"one").startswith("manifest.json.asc.")
    assert len(pending_signature(b"one")) == len("manifest.json.asc.") + 16


def test_the_new_manifest_keeps_every_field_and_changes_only_moved_files_and_keys():
    raw: dict[str, Any] = {
        "client": "acme",
        "future_field": {"kept": True},
        "key_name": "old",
        "key_fingerprint": "F" * 40,
        "escrow_fingerprint": None,
        "globals": {"name": "globals", "file": "globals.sql.gpg", "bytes": 1, "sha256": "a"},
        "databases": [
            {"name": "sales", "file": "sales.dump.gpg", "bytes": 2, "sha256": "b", "x": 1},
            {"name": "hr", "file": "", "status": "failed"},
        ],
    }
    moved = {"sales.dump.gpg": StoredFile(f"sales.dump.{TAG}.gpg", 20, "bb")}
    new = json.loads(rekeyed_manifest(raw, moved, NewKeys("acme-2027", KEY, None, "5" * 40)))
    assert new["future_field"] == {"kept": True}
    assert new["databases"][0] == {
        "name": "sales",
        "file": f"sales.dump.{TAG}.gpg",
        "bytes": 20,
        "sha256": "bb",
        "x": 1,
    }
    assert new["databases"][1] == raw["databases"][1]
    assert new["globals"] == raw["globals"]
    assert (new["key_name"], new["key_fingerprint"], new["signing_fingerprint"]) == (
        "acme-2027",
        KEY,
        "5" * 40,
    )
