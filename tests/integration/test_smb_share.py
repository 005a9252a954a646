"""SmbFileShare against a real Samba server (tests/support/samba.py): logins, kills, links, space.

The FileShare contract itself runs in tests/contract/test_file_share.py (the `smb` parameter).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from pathlib import PurePosixPath as P

import pytest
from pydantic import SecretStr

from adapters.smb.share import SmbFileShare
from adapters.smb.transfer import READ_CHUNK_BYTES
from domain.models.redaction import Redactor
from ports.errors import DumpError, ShareFullError, ShareUnavailableError
from ports.file_share import Entry, MountOutcome, ShareTarget
from tests.support.samba import SambaServer, mfsymlink_content, samba_server

__all__ = ["samba_server"]

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024


@pytest.fixture
def folder(samba_server: SambaServer) -> tuple[str, Path]:
    """Return the UNC and backing directory of a fresh, empty folder of the share."""
    return samba_server.fresh_folder()


def make_share(
    server: SambaServer, unc: str, password: str | None = None, redactor: Redactor | None = None
) -> SmbFileShare:
    key = SecretStr(password if password is not None else server.password)
    target = ShareTarget("acme", unc, server.user, key)
    return SmbFileShare(target, redactor=redactor or Redactor(), port=server.port)


@pytest.fixture
def share(samba_server: SambaServer, folder: tuple[str, Path]) -> Iterator[SmbFileShare]:
    built = make_share(samba_server, folder[0])
    assert built.mount() is MountOutcome.MOUNTED
    yield built
    built.unmount()


def place_link_file(server: SambaServer, path: Path, target: str) -> None:
    """Write an mfsymlink into the backing directory, owned by the SMB user as if it wrote it."""
    path.write_bytes(mfsymlink_content(target))
    os.chown(path, *server.uid_gid)


def chunks_then_failure(count: int) -> Iterator[bytes]:
    for _ in range(count):
        yield b"\x85" * MIB
    raise DumpError("gpg exited with status 2")


class TestLogin:
    def test_a_wrong_password_is_one_line_without_the_password(
        self, samba_server: SambaServer, folder: tuple[str, Path], caplog
    ) -> None:
        wrong = "Wrong-Storage-Key-987654"
        share = make_share(samba_server, folder[0], password=wrong)
        caplog.set_level(logging.DEBUG)

        with pytest.raises(ShareUnavailableError) as raised:
            share.mount()

        message = str(raised.value)
        assert message.startswith(f"cannot connect to {samba_server.unc}/")
        assert "STATUS_LOGON_FAILURE" in message
        assert "\n" not in message
        assert wrong not in message
        assert wrong not in caplog.text

    def test_an_unreachable_server_is_one_line(self, samba_server: SambaServer) -> None:
        target = ShareTarget("acme", "//127.0.0.1/backups", "u", SecretStr("Some-Key-123"))
        share = SmbFileShare(target, redactor=Redactor(), port=1, connection_timeout=2)

        with pytest.raises(ShareUnavailableError) as raised:
            share.mount()

        assert str(raised.value).startswith("cannot connect to //127.0.0.1/backups as u: ")

    def test_a_missing_root_folder_is_refused_at_mount(self, samba_server: SambaServer) -> None:
        share = make_share(samba_server, f"{samba_server.unc}/no-such-folder")

        with pytest.raises(ShareUnavailableError, match="no-such-folder does not exist"):
            share.mount()

    def test_a_missing_share_is_refused_at_mount(self, samba_server: SambaServer) -> None:
        share = make_share(samba_server, "//127.0.0.1/no-such-share")

        with pytest.raises(ShareUnavailableError, match="no-such-share"):
            share.mount()

    def test_the_storage_key_is_registered_with_the_redactor(
        self, samba_server: SambaServer, folder: tuple[str, Path]
    ) -> None:
        redactor = Redactor()
        make_share(samba_server, folder[0], redactor=redactor)

        assert redactor.redact(f"key={samba_server.password}") == "key=*****"

    def test_unmounting_one_share_leaves_another_share_connected(
        self, samba_server: SambaServer, folder: tuple[str, Path], share: SmbFileShare
    ) -> None:
        other = make_share(samba_server, samba_server.fresh_folder()[0])
        other.mount()

        other.unmount()
        share.write_stream(P("still-works"), [b"yes"])

        assert share.exists(P("still-works"))


class TestStreaming:
    def test_a_large_stream_lands_on_the_server_byte_for_byte(
        self, share: SmbFileShare, folder: tuple[str, Path]
    ) -> None:
        content = [os.urandom(MIB) for _ in range(5)] + [b"tail"]

        receipt = share.write_stream(P("db.dump.gpg"), iter(content))

        on_disk = (folder[1] / "db.dump.gpg").read_bytes()
        assert on_disk == b"".join(content)
        assert receipt.bytes == len(on_disk)
        assert receipt.sha256 == hashlib.sha256(on_disk).hexdigest()

    def test_parallel_writes_through_one_share_all_land(
        self, share: SmbFileShare, folder: tuple[str, Path]
    ) -> None:
        contents = {f"db{n}.dump.gpg": os.urandom(2 * MIB + n) for n in range(6)}

        def write(name: str) -> str:
            data = contents[name]
            chunks = (data[i : i + 256 * 1024] for i in range(0, len(data), 256 * 1024))
            return share.write_stream(P(name), chunks).sha256

        with ThreadPoolExecutor(max_workers=4) as pool:
            digests = dict(zip(contents, pool.map(write, contents), strict=True))

        for name, data in contents.items():
            assert (folder[1] / name).read_bytes() == data
            assert digests[name] == hashlib.sha256(data).hexdigest()

    def test_a_file_is_read_back_in_chunks_of_at_most_one_mebibyte(
        self, share: SmbFileShare
    ) -> None:
        data = os.urandom(3 * MIB + 17)
        share.write_stream(P("big"), [data])

        chunks = list(share.read_stream(P("big")))

        assert b"".join(chunks) == data
        assert len(chunks) >= 4
        assert max(len(chunk) for chunk in chunks) <= READ_CHUNK_BYTES

    def test_an_iterator_failing_mid_stream_publishes_nothing_and_leaves_no_partial(
        self, share: SmbFileShare, folder: tuple[str, Path]
    ) -> None:
        with pytest.raises(DumpError, match="gpg exited with status 2"):
            share.write_stream(P("db.dump.gpg"), chunks_then_failure(3))

        assert list(folder[1].iterdir()) == []

    def test_a_writer_killed_mid_stream_publishes_nothing_and_the_name_can_be_written_again(
        self, samba_server: SambaServer, share: SmbFileShare, folder: tuple[str, Path]
    ) -> None:
        child = start_writing_child(samba_server, folder[0], "db.dump.gpg")
        try:
            assert child.stdout is not None
            assert child.stdout.readline() == b"streaming\n"
            child.send_signal(signal.SIGKILL)
        finally:
            child.wait(timeout=30)
        assert child.returncode == -signal.SIGKILL

        assert not share.exists(P("db.dump.gpg"))
        assert not (folder[1] / "db.dump.gpg").exists()
        # The partial file is debris that the next write (or retention) removes.
        share.write_stream(P("db.dump.gpg"), [b"complete"])
        assert b"".join(share.read_stream(P("db.dump.gpg"))) == b"complete"
        assert [e.name for e in share.list_dir(P("."))] == ["db.dump.gpg"]

    def test_a_full_share_raises_share_full_and_leaves_no_partial(
        self, samba_server: SambaServer
    ) -> None:
        full = samba_server.full_path
        uid, gid = samba_server.uid_gid
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size=1m,mode=0700,uid={uid},gid={gid}", "tmpfs", full],
            capture_output=True,
            check=False,
        )
        if mounted.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
        try:
            share = make_share(samba_server, f"//{samba_server.host}/full")
            share.mount()
            try:
                with pytest.raises(ShareFullError, match=r"^share is full: cannot "):
                    share.write_stream(P("db.dump.gpg"), (b"x" * MIB for _ in range(4)))
                assert share.list_dir(P(".")) == []
            finally:
                share.unmount()
        finally:
            subprocess.run(["umount", full], check=True)


class TestLinks:
    def test_an_mfsymlink_file_is_listed_as_a_symlink(
        self, samba_server: SambaServer, share: SmbFileShare, folder: tuple[str, Path]
    ) -> None:
        place_link_file(samba_server, folder[1] / "link", "/etc")
        share.write_stream(P("plain"), [b"p" * 1067])

        assert share.list_dir(P(".")) == [
            Entry("link", is_dir=False, is_symlink=True),
            Entry("plain", is_dir=False, size=1067),
        ]

    def test_delete_tree_removes_an_mfsymlink_but_not_what_it_points_to(
        self, samba_server: SambaServer, share: SmbFileShare, folder: tuple[str, Path]
    ) -> None:
        share.make_dirs(P("run"))
        share.make_dirs(P("kept"))
        share.write_stream(P("kept/precious"), [b"keep me"])
        place_link_file(samba_server, folder[1] / "run" / "to-kept", "../kept")

        share.delete_tree(P("run"))

        assert not share.exists(P("run"))
        assert b"".join(share.read_stream(P("kept/precious"))) == b"keep me"

    def test_a_unix_symlink_on_the_server_is_never_followed_by_delete_tree(
        self, share: SmbFileShare, folder: tuple[str, Path]
    ) -> None:
        share.make_dirs(P("kept"))
        share.write_stream(P("kept/precious"), [b"keep me"])
        share.make_dirs(P("run"))
        share.write_stream(P("run/db.dump.gpg"), [b"old"])
        (folder[1] / "run" / "to-kept").symlink_to(folder[1] / "kept")
        (folder[1] / "run" / "to-file").symlink_to(folder[1] / "kept" / "precious")

        # Samba (follow symlinks = no) hides the links, so the folder cannot be emptied.
        assert [e.name for e in share.list_dir(P("run"))] == ["db.dump.gpg"]
        with pytest.raises(ShareUnavailableError, match=r"cannot delete .*/run"):
            share.delete_tree(P("run"))

        assert (folder[1] / "kept" / "precious").read_bytes() == b"keep me"
        assert (folder[1] / "run" / "to-kept").is_symlink()

    def test_a_unix_symlink_is_not_readable_through_the_share(
        self, share: SmbFileShare, folder: tuple[str, Path]
    ) -> None:
        (folder[1] / "secret").symlink_to("/etc/hostname")

        assert not share.exists(P("secret"))
        with pytest.raises(ShareUnavailableError):
            b"".join(share.read_stream(P("secret")))


class TestPaths:
    @pytest.mark.parametrize("bad", ["/abs", "../up", "a:stream", "back\\slash"])
    def test_escaping_or_odd_paths_are_refused(self, share: SmbFileShare, bad: str) -> None:
        with pytest.raises(ShareUnavailableError):
            share.exists(P(bad))

    def test_a_port_in_the_unc_is_refused_with_a_clear_message(self) -> None:
        target = ShareTarget("acme", "//host:4450/share", "u", SecretStr("Some-Key-123"))

        with pytest.raises(ShareUnavailableError, match="character SMB does not allow"):
            SmbFileShare(target, redactor=Redactor())


WRITER_CHILD = """
import json, sys
from pathlib import PurePosixPath
from pydantic import SecretStr
from adapters.smb.share import SmbFileShare
from domain.models.redaction import Redactor
from ports.file_share import ShareTarget

config = json.loads(sys.stdin.readline())
target = ShareTarget("acme", config["unc"], config["user"], SecretStr(config["password"]))
share = SmbFileShare(target, redactor=Redactor(), port=config["port"])
share.mount()

def chunks():
    for number in range(10_000):
        if number == 3:
            sys.stdout.write("streaming\\n")
            sys.stdout.flush()
        yield b"\\x85" * (1024 * 1024)

share.write_stream(PurePosixPath(config["name"]), chunks())
"""


def start_writing_child(server: SambaServer, unc: str, name: str) -> subprocess.Popen[bytes]:
    """Start a python child streaming an endless file through SmbFileShare (key on stdin)."""
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER_CHILD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=REPO_ROOT,
        env={"PATH": os.defpath, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert child.stdin is not None
    config = {
        "unc": unc,
        "user": server.user,
        "password": server.password,
        "port": server.port,
        "name": name,
    }
    child.stdin.write(json.dumps(config).encode() + b"\n")
    child.stdin.close()
    return child
