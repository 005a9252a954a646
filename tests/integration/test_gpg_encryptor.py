"""GpgEncryptor against the real gpg binary; decryption with plain gpg via tests.support.gpg."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.gpg.encryptor import GpgEncryptor, GpgRecipients
from adapters.process import ProcessStream, Stage
from domain.models.redaction import MASK, Redactor
from ports.errors import DumpError, EncryptionError, KeyMismatchError
from tests.support.gpg import KeyPair, dearmor, decrypt, generate_key_pair, revoked_public_key

pytestmark = pytest.mark.integration

PASSPHRASE = "correct horse battery staple"
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keys")


@pytest.fixture(scope="module")
def client_key(keys_dir: Path) -> KeyPair:
    return generate_key_pair(keys_dir, "Acme Corp", "backup@acme.example", PASSPHRASE)


@pytest.fixture(scope="module")
def escrow_key(keys_dir: Path) -> KeyPair:
    return generate_key_pair(keys_dir, "Escrow Agent", "escrow@trustee.example", None)


Load = Callable[..., GpgRecipients]


@pytest.fixture
def encryptor(tmp_path: Path) -> GpgEncryptor:
    return GpgEncryptor(tmp_path / "work", Redactor())


@pytest.fixture
def load(encryptor: GpgEncryptor) -> Iterator[Load]:
    """Load recipients with the encryptor and close them after the test."""
    loaded: list[GpgRecipients] = []

    def _load(*args: Any, **kwargs: Any) -> GpgRecipients:
        recipients = encryptor.load(*args, **kwargs)
        loaded.append(recipients)
        return recipients

    yield _load
    for recipients in loaded:
        recipients.close()


def keyrings(work: Path) -> list[Path]:
    return sorted(work.glob("gnupg-*")) if work.exists() else []


def all_children(with_state: bool = False) -> list[tuple[int, str]]:
    """Return (pid, command) of every child of this process, zombies included, from /proc.

    With `with_state`, the second item is the process state instead (Z for a zombie).
    """
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        comm = text[text.index("(") + 1 : text.rindex(")")]
        state, ppid = text[text.rindex(")") + 2 :].split()[:2]
        if int(ppid) == os.getpid():
            children.append((int(stat.parent.name), state if with_state else comm))
    return children


def gpg_children() -> list[tuple[int, str]]:
    """Return (pid, state) of every gpg child of this process, zombies included."""
    states = dict(all_children(with_state=True))
    return [(pid, states[pid]) for pid, comm in all_children() if comm == "gpg" and pid in states]


def feeder_threads() -> list[threading.Thread]:
    """Return the threads of the process package (feeders, stderr tails) still alive."""
    return [thread for thread in threading.enumerate() if thread.name.startswith("lts-")]


def varied_chunks(total: int) -> Iterator[bytes]:
    """Yield `total` random bytes in chunks of uneven sizes."""
    sizes = [1, 4096, 65537, MIB, 3 * MIB + 7, 100]
    sent = 0
    index = 0
    while sent < total:
        size = min(sizes[index % len(sizes)], total - sent)
        yield os.urandom(size)
        sent += size
        index += 1


def test_a_multi_megabyte_stream_decrypts_with_plain_gpg_to_the_same_bytes(
    load: Load, client_key: KeyPair
) -> None:
    recipients = load(client_key.public_armored, "Acme Corp")
    plain = list(varied_chunks(8 * MIB))

    encrypted = b"".join(recipients.encrypt(iter(plain)))

    assert encrypted[:1] != b"-"  # binary OpenPGP, not armour
    assert decrypt(client_key, encrypted) == b"".join(plain)
    assert gpg_children() == []


def test_the_encrypted_file_decrypts_from_a_path_too(
    load: Load, client_key: KeyPair, tmp_path: Path
) -> None:
    recipients = load(client_key.public_armored, "backup")
    target = tmp_path / "db.dump.gpg"
    with target.open("wb") as output:
        for chunk in recipients.encrypt([b"PGDMP", b"\x00" * 1000]):
            output.write(chunk)

    assert decrypt(client_key.secret_armored, target, PASSPHRASE) == b"PGDMP" + b"\x00" * 1000


def test_a_childs_output_is_encrypted_by_gpg_reading_that_child_directly(
    load: Load, client_key: KeyPair
) -> None:
    recipients = load(client_key.public_armored, "backup")
    env = {"PATH": "/usr/bin:/bin"}
    producer = Stage(
        ("sh", "-c", "echo PGDMP-like; exec sleep 1"),
        env,
        "pg_dump",
        lambda f: DumpError(f.message),
    )

    stream = recipients.encrypt(ProcessStream([producer]))
    assert isinstance(stream, ProcessStream)
    assert [stage.tool for stage in stream.stages] == ["pg_dump", "gpg"]
    first = next(stream)
    [(gpg_pid, _)] = gpg_children()
    sleep_pid = next(pid for pid, command in all_children() if command == "sleep")
    gpg_stdin = str(Path(f"/proc/{gpg_pid}/fd/0").readlink())
    producer_stdout = str(Path(f"/proc/{sleep_pid}/fd/1").readlink())
    encrypted = first + b"".join(stream)

    assert gpg_stdin == producer_stdout
    assert gpg_stdin.startswith("pipe:")
    assert decrypt(client_key, encrypted) == b"PGDMP-like\n"


def test_a_child_that_fails_before_gpg_explains_the_failure(
    load: Load, client_key: KeyPair
) -> None:
    recipients = load(client_key.public_armored, "backup")
    producer = Stage(
        ("sh", "-c", "echo partial; echo 'connection reset' >&2; exit 1"),
        {"PATH": "/usr/bin:/bin"},
        "pg_dump",
        lambda failure: DumpError(failure.message),
    )

    with pytest.raises(DumpError, match=r"^pg_dump exited with 1: connection reset$"):
        b"".join(recipients.encrypt(ProcessStream([producer])))
    assert gpg_children() == []


@pytest.mark.parametrize(
    "key_name",
    [
        "Acme Corp",
        "acme corp",
        "backup",
        "BACKUP",
        "backup@acme.example",
        "Backup@Acme.Example",
        "Acme Corp <backup@acme.example>",
    ],
)
def test_the_key_matches_its_name_email_and_email_local_part(
    load: Load, client_key: KeyPair, key_name: str
) -> None:
    info = load(client_key.public_armored, key_name).info

    assert info.key_name == key_name
    assert info.fingerprint == client_key.fingerprint
    assert info.user_ids == ("Acme Corp <backup@acme.example>",)
    assert info.escrow_fingerprint is None


def test_the_key_matches_its_fingerprint_in_any_case_and_spacing_and_its_long_key_id(
    load: Load, client_key: KeyPair
) -> None:
    fingerprint = client_key.fingerprint
    spaced = " ".join(fingerprint[i : i + 4] for i in range(0, 40, 4)).lower()

    for key_name in (fingerprint, spaced, "0x" + fingerprint[-16:]):
        assert load(client_key.public_armored, key_name).info.fingerprint == fingerprint


@pytest.mark.parametrize("key_name", ["globex", "acme", "example", "corp", "", "ABCD1234"])
def test_a_key_of_another_name_is_refused_with_its_fingerprint_and_user_ids(
    encryptor: GpgEncryptor, client_key: KeyPair, key_name: str, tmp_path: Path
) -> None:
    with pytest.raises(KeyMismatchError) as raised:
        encryptor.load(client_key.public_armored, key_name)

    message = str(raised.value)
    assert client_key.fingerprint in message
    assert "Acme Corp <backup@acme.example>" in message
    assert f"does not match key-name {key_name!r}" in message
    assert "\n" not in message
    assert keyrings(tmp_path / "work") == []


def test_a_binary_public_key_is_accepted(load: Load, client_key: KeyPair, tmp_path: Path) -> None:
    binary = dearmor(client_key.public_armored, tmp_path)
    assert not binary.startswith(b"-----")

    recipients = load(binary, "backup")

    assert recipients.info.fingerprint == client_key.fingerprint
    assert decrypt(client_key, b"".join(recipients.encrypt([b"binary"]))) == b"binary"


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"not a key at all\n",
        b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n",
        os.urandom(300),
    ],
)
def test_garbage_instead_of_a_key_is_a_one_line_encryption_error(
    encryptor: GpgEncryptor, garbage: bytes
) -> None:
    with pytest.raises(EncryptionError) as raised:
        encryptor.load(garbage, "acme")

    assert not isinstance(raised.value, KeyMismatchError)
    assert str(raised.value).startswith("the public key is not a valid OpenPGP public key")
    assert "\n" not in str(raised.value)


def test_a_secret_key_offered_as_public_key_is_refused_without_importing_it(
    encryptor: GpgEncryptor, client_key: KeyPair, tmp_path: Path
) -> None:
    with pytest.raises(EncryptionError, match="holds secret key material"):
        encryptor.load(client_key.secret_armored, "backup")

    assert list((tmp_path / "work").iterdir()) == []


def test_two_primary_keys_in_one_public_key_are_refused(
    encryptor: GpgEncryptor, client_key: KeyPair, escrow_key: KeyPair
) -> None:
    both = dearmor(client_key.public_armored, escrow_key.homedir.parent) + dearmor(
        escrow_key.public_armored, escrow_key.homedir.parent
    )

    with pytest.raises(EncryptionError, match="holds 2 primary keys") as raised:
        encryptor.load(both, "backup")

    assert client_key.fingerprint in str(raised.value)
    assert escrow_key.fingerprint in str(raised.value)


def test_both_the_client_and_the_escrow_private_keys_decrypt(
    load: Load, client_key: KeyPair, escrow_key: KeyPair
) -> None:
    recipients = load(client_key.public_armored, "backup", escrow_key=escrow_key.public_armored)
    plain = os.urandom(MIB + 5)

    encrypted = b"".join(recipients.encrypt([plain]))

    assert recipients.info.escrow_fingerprint == escrow_key.fingerprint
    assert decrypt(client_key, encrypted) == plain
    assert decrypt(escrow_key, encrypted) == plain


def test_an_escrow_key_that_is_garbage_is_refused(
    encryptor: GpgEncryptor, client_key: KeyPair, tmp_path: Path
) -> None:
    with pytest.raises(EncryptionError, match=r"^the escrow key is not a valid OpenPGP"):
        encryptor.load(client_key.public_armored, "backup", escrow_key=b"junk")
    assert keyrings(tmp_path / "work") == []


def test_an_upstream_failure_mid_stream_propagates_as_it_is_and_gpg_is_reaped(
    load: Load, client_key: KeyPair
) -> None:
    recipients = load(client_key.public_armored, "backup")
    failure = DumpError("pg_dump of 'sales' failed: connection reset")

    def dump() -> Iterator[bytes]:
        yield os.urandom(2 * MIB)
        yield os.urandom(MIB)
        raise failure

    with pytest.raises(DumpError) as raised:
        for _ in recipients.encrypt(dump()):
            pass

    assert raised.value is failure
    assert gpg_children() == []
    assert feeder_threads() == []


def test_closing_the_stream_early_kills_gpg_closes_the_input_and_leaves_no_thread(
    load: Load, client_key: KeyPair
) -> None:
    recipients = load(client_key.public_armored, "backup")
    closed = threading.Event()

    def endless() -> Iterator[bytes]:
        block = os.urandom(MIB)
        try:
            while True:
                yield block
        finally:
            closed.set()

    stream = recipients.encrypt(endless())
    next(iter(stream))
    assert len(gpg_children()) == 1

    stream.close()

    assert gpg_children() == []
    assert closed.is_set()
    assert feeder_threads() == []


def test_a_failing_gpg_is_an_encryption_error_with_masked_diagnostics(
    tmp_path: Path, client_key: KeyPair
) -> None:
    # The fingerprint plays the part of a secret gpg might echo.
    encryptor = GpgEncryptor(tmp_path / "work", Redactor([client_key.fingerprint]))
    recipients = encryptor.load(client_key.public_armored, "backup")
    (recipients.homedir / "pubring.kbx").unlink()

    with pytest.raises(EncryptionError, match=r"^gpg failed to encrypt \(exit 2\)") as raised:
        b"".join(recipients.encrypt([b"data"]))

    assert client_key.fingerprint not in str(raised.value)
    assert MASK in str(raised.value)
    assert "\n" not in str(raised.value)
    assert gpg_children() == []
    recipients.close()


def test_encrypting_with_closed_recipients_is_an_encryption_error(
    encryptor: GpgEncryptor, client_key: KeyPair
) -> None:
    recipients = encryptor.load(client_key.public_armored, "backup")
    recipients.close()

    with pytest.raises(EncryptionError, match="closed"):
        recipients.encrypt([b"x"])


def test_close_removes_the_keyring_and_the_users_keyring_is_never_touched(
    tmp_path: Path, client_key: KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    gnupghome = tmp_path / "gnupghome"
    home.mkdir()
    gnupghome.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GNUPGHOME", str(gnupghome))
    encryptor = GpgEncryptor(tmp_path / "work", Redactor())

    recipients = encryptor.load(client_key.public_armored, "backup")
    homedir = recipients.homedir
    assert homedir.parent == tmp_path / "work"
    assert homedir.stat().st_mode & 0o777 == 0o700
    b"".join(recipients.encrypt([b"secret data"]))
    assert list(homedir.glob("S.*")) == []  # no agent socket: gpg started no gpg-agent
    recipients.close()
    recipients.close()

    assert not homedir.exists()
    assert list((tmp_path / "work").iterdir()) == []
    assert list(home.iterdir()) == []
    assert list(gnupghome.iterdir()) == []


def test_recipients_loaded_one_after_another_live_side_by_side_in_keyrings_of_their_own(
    encryptor: GpgEncryptor, client_key: KeyPair, escrow_key: KeyPair
) -> None:
    # The encryptor keeps no state: a second load no longer replaces the first one's keyring.
    first = encryptor.load(client_key.public_armored, "backup")
    second = encryptor.load(escrow_key.public_armored, "escrow")
    try:
        assert first.homedir != second.homedir
        assert second.info.fingerprint == escrow_key.fingerprint
        first.close()

        assert not first.homedir.exists()
        assert decrypt(escrow_key, b"".join(second.encrypt([b"still works"]))) == b"still works"
    finally:
        first.close()
        second.close()


def test_close_all_closes_every_recipients_still_open(
    encryptor: GpgEncryptor, client_key: KeyPair, tmp_path: Path
) -> None:
    first = encryptor.load(client_key.public_armored, "backup")
    second = encryptor.load(client_key.public_armored, "backup")
    first.close()

    encryptor.close_all()
    encryptor.close_all()

    assert keyrings(tmp_path / "work") == []
    with pytest.raises(EncryptionError, match="closed"):
        second.encrypt([b"x"])


def test_an_expired_key_is_refused(encryptor: GpgEncryptor, keys_dir: Path) -> None:
    expired = generate_key_pair(
        keys_dir, "Old Corp", "old@corp.example", None, expire="1d", created="20200101T000000"
    )

    with pytest.raises(EncryptionError, match="has expired") as raised:
        encryptor.load(expired.public_armored, "old")

    assert expired.fingerprint in str(raised.value)


def test_a_revoked_key_is_refused(encryptor: GpgEncryptor, keys_dir: Path) -> None:
    revoked = revoked_public_key(generate_key_pair(keys_dir, "Gone", "gone@corp.example", None))

    with pytest.raises(EncryptionError, match="is revoked"):
        encryptor.load(revoked, "gone")


def test_encrypting_200_mb_keeps_memory_flat(load: Load, client_key: KeyPair) -> None:
    recipients = load(client_key.public_armored, "backup")
    block = os.urandom(MIB)

    before = resident_kib()
    total = 0
    for chunk in recipients.encrypt(block for _ in range(200)):
        total += len(chunk)
    growth_mib = (resident_kib() - before) / 1024

    assert total > 200 * MIB
    assert growth_mib < 50


def resident_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")
