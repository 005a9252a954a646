"""verify's signature checks and `verify --logs`, with in-memory adapters (SPEC 14)."""

import hashlib
import json
from pathlib import PurePosixPath

from adapters.memory.signer import InMemorySignatureChecker, InMemorySigner, signature_of
from domain.models.restore_request import RunChoice, VerifyRequest
from domain.rules.audit_chain import GENESIS, chained, line_hash
from domain.rules.rekeying import pending_signature
from ports.errors import SigningError
from tests.support.restore_world import FIRST_RUN, SECOND_RUN, RestoreWorld

SIGNER = "5" * 40
MOUNT = ["read_config", "take_lock", "open_share", "mount_share"]
UNMOUNT = ["run_machine", "unmount_share", "release_lock"]
START = ["load_private_key", "load_trusted_keys", "find_runs"]
RUN = ["read_manifest", "check_signature", *["check_file", "decrypt_file"] * 4, "check_files"]


def verify(world, choice="all", *, logs=False, runs=True):
    request = VerifyRequest(run=RunChoice.parse(choice, allow_all=True), logs=logs, runs=runs)
    return world.verify_machine(request, with_key=False).execute()


def failed(results):
    return [(r.node, r.message) for r in results if not r.ok]


def signed_world(**kwargs):
    return RestoreWorld(signer=InMemorySigner(), checker=InMemorySignatureChecker(), **kwargs)


def tamper(world, run_dir, database="sales"):
    """Replace a dump by another valid 'encrypted' file; make SHA256SUMS and manifest agree."""
    share = world.share
    path = run_dir / f"{database}.dump.gpg"
    content = b"ENC:PGDMPforged dump of " + database.encode()
    share.files[path] = content
    digest = hashlib.sha256(content).hexdigest()
    manifest = json.loads(share.files[run_dir / "manifest.json"])
    for record in manifest["databases"]:
        if record["name"] == database:
            record.update(bytes=len(content), sha256=digest)
    share.files[run_dir / "manifest.json"] = json.dumps(manifest, indent=2).encode() + b"\n"
    sums = share.files[run_dir / "SHA256SUMS"].decode().splitlines()
    share.files[run_dir / "SHA256SUMS"] = "".join(
        f"{digest}  {path.name}\n" if line.endswith(f"  {path.name}") else f"{line}\n"
        for line in sums
    ).encode()


def test_signed_runs_verify_with_the_trusted_key():
    world = signed_world()
    results = verify(world)
    assert [r.node for r in results] == [
        *MOUNT,
        *START,
        *RUN,
        *RUN,
        "verify_runs",
        "verify_logs",
        "dispose_key",
        *UNMOUNT,
    ]
    assert all(r.ok for r in results)
    assert world.machine.summary(results) == (
        "verify acme: 2 runs, 8 files checked, 0 decrypted, 2 signed, 0 unsigned, 0 problems"
    )
    assert world.checker is not None
    assert world.checker.open == []


def test_a_replaced_dump_with_consistent_sums_and_manifest_fails_only_its_run():
    world = signed_world()
    tamper(world, FIRST_RUN)
    results = verify(world)
    assert failed(results) == [
        (
            "check_signature",
            f"acme {FIRST_RUN} manifest.json does not match its signature manifest.json.asc "
            f"(key {SIGNER}): the manifest was changed after it was signed",
        )
    ]
    assert world.machine.summary(results).endswith("1 signed, 0 unsigned, 1 problems")


def test_a_run_signed_by_another_key_is_a_failure():
    world = RestoreWorld(
        signer=InMemorySigner(fingerprint="6" * 40), checker=InMemorySignatureChecker()
    )
    results = verify(world, "latest")
    assert failed(results) == [
        (
            "check_signature",
            f"acme {SECOND_RUN} manifest.json.asc is signed by key {'6' * 40}, which is not a "
            "[signing] trusted key",
        )
    ]


def test_a_damaged_signature_is_a_failure():
    world = signed_world()
    world.share.files[SECOND_RUN / "manifest.json.asc"] = b"not a signature"
    results = verify(world, "latest")
    assert failed(results) == [
        (
            "check_signature",
            f"acme {SECOND_RUN} manifest.json.asc is not a valid signature: "
            "not an OpenPGP signature",
        )
    ]


def test_a_deleted_signature_of_a_manifest_that_names_its_signer_is_a_failure():
    world = signed_world()
    del world.share.files[SECOND_RUN / "manifest.json.asc"]
    results = verify(world, "latest")
    assert failed(results) == [
        (
            "check_signature",
            f"acme {SECOND_RUN} manifest.json.asc is missing, but the manifest names signing "
            f"key {SIGNER}",
        )
    ]


def test_a_good_signature_by_another_trusted_key_than_the_manifest_names_is_a_failure():
    world = RestoreWorld(
        signer=InMemorySigner(), checker=InMemorySignatureChecker(trusted=(SIGNER, "6" * 40))
    )
    data = world.share.files[SECOND_RUN / "manifest.json"]
    world.share.files[SECOND_RUN / "manifest.json.asc"] = signature_of("6" * 40, data)
    results = verify(world, "latest")
    assert failed(results) == [
        (
            "check_signature",
            f"acme {SECOND_RUN} manifest.json is signed by key {'6' * 40}, but it names "
            f"signing key {SIGNER}",
        )
    ]


def test_an_unsigned_run_is_a_warning_without_require_and_a_failure_with_it():
    relaxed = RestoreWorld(checker=InMemorySignatureChecker())
    results = verify(relaxed)
    assert all(r.ok for r in results)
    assert relaxed.machine.summary(results).endswith("0 signed, 2 unsigned, 0 problems")

    strict = RestoreWorld(checker=InMemorySignatureChecker(), require_signatures=True)
    results = verify(strict, "latest")
    assert failed(results) == [
        (
            "check_signature",
            f"acme {SECOND_RUN} is not signed (manifest.json.asc is missing; [signing] require)",
        )
    ]


def test_without_trusted_keys_signatures_are_not_checked_and_the_summary_says_so():
    world = RestoreWorld(signer=InMemorySigner())
    tamper(world, FIRST_RUN)
    results = verify(world)
    assert all(r.ok for r in results)
    assert world.machine.summary(results) == (
        "verify acme: 2 runs, 8 files checked, 0 decrypted, 0 signed, 0 unsigned, "
        "2 signatures not checked, 0 problems"
    )


def test_the_signature_a_cut_short_rekey_left_waiting_still_verifies_its_manifest():
    world = signed_world()
    manifest = json.loads(world.share.files[SECOND_RUN / "manifest.json"])
    manifest["key_name"] = "acme-2027"
    data = json.dumps(manifest, indent=2).encode() + b"\n"
    world.share.files[SECOND_RUN / "manifest.json"] = data
    world.share.files[SECOND_RUN / pending_signature(data)] = signature_of(SIGNER, data)
    results = verify(world, "latest")
    assert all(r.ok for r in results)


def test_trusted_keys_that_cannot_be_loaded_are_one_failure_and_runs_are_still_checked():
    world = RestoreWorld(
        checker=InMemorySignatureChecker(error=SigningError("trusted key /x cannot be read"))
    )
    results = verify(world, "latest")
    assert failed(results) == [("load_trusted_keys", "acme trusted key /x cannot be read")]
    assert world.machine.summary(results).startswith("verify acme: 1 run, 4 files checked")


# ---------------------------------------------------------------- verify --logs


def chain(*entries):
    lines, previous = [], GENESIS
    for entry in entries:
        line = chained(entry, previous)
        lines.append(line)
        previous = line_hash(line)
    return lines


def write_log(world, path, lines):
    world.share.make_dirs(PurePosixPath(path).parent)
    world.share.files[PurePosixPath(path)] = "".join(f"{line}\n" for line in lines).encode()


def test_logs_alone_check_every_audit_log_and_no_run():
    world = RestoreWorld(runs=0)
    write_log(world, "retention.log", chain({"event": "deleted", "run": "a"}, {"event": "b"}))
    write_log(world, "archive/2026-11/ARCHIVE.jsonl", chain({"name": "contract.pdf"}))
    write_log(world, "rekey.jsonl", chain({"event": "rekeyed"}))
    results = verify(world, logs=True, runs=False)
    assert [r.node for r in results] == [
        *MOUNT,
        *START,
        "verify_runs",
        *["check_chain"] * 3,
        "verify_logs",
        "dispose_key",
        *UNMOUNT,
    ]
    assert all(r.ok for r in results)
    assert world.machine.summary(results) == "verify acme: 3 logs checked, 0 problems"


def test_a_broken_line_in_retention_log_is_named_and_other_logs_pass():
    world = RestoreWorld(runs=0)
    lines = chain({"event": "deleted", "run": "a"}, {"event": "deleted", "run": "b"}, {"c": 1})
    lines[1] = lines[1].replace('"b"', '"x"')
    write_log(world, "retention.log", lines)
    write_log(world, "drills.jsonl", chain({"drill": 1}))
    results = verify(world, logs=True, runs=False)
    assert failed(results) == [
        ("check_chain", "acme retention.log line 2 was changed after it was written (line_sha256)")
    ]


def test_each_broken_log_is_one_failure():
    world = RestoreWorld(runs=0)
    write_log(world, "retention.log", [*chain({"a": 1}), "inserted by hand"])
    deleted = chain({"a": 1}, {"b": 2}, {"c": 3})
    write_log(world, "holds.log", [deleted[0], deleted[2]])
    results = verify(world, logs=True, runs=False)
    assert failed(results) == [
        ("check_chain", "acme holds.log line 2 does not carry the sha256 of the line before it"),
        ("check_chain", "acme retention.log line 2 is not a chained JSON line"),
    ]


def test_an_old_format_log_continued_from_its_marker_passes():
    from domain.services.audit_log import AuditLog

    world = RestoreWorld(runs=0)
    write_log(world, "retention.log", ["2024-01-01 deleted end-of-month/2023-01/X (expired)"])
    AuditLog(world.share, PurePosixPath("retention.log")).append({"event": "deleted"})
    results = verify(world, logs=True, runs=False)
    assert all(r.ok for r in results)


def test_logs_and_runs_are_checked_together_when_both_are_asked():
    world = RestoreWorld()
    write_log(world, "retention.log", chain({"a": 1}))
    results = verify(world, "latest", logs=True)
    assert all(r.ok for r in results)
    assert world.machine.summary(results) == (
        "verify acme: 1 run, 4 files checked, 0 decrypted, 1 logs checked, 0 problems"
    )
