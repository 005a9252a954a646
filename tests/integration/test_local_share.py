"""LocalDirFileShare on a real file system: what the shared contract cannot show.

Tmpfs mounts (a full share, a read-only share) need root; those tests skip with the reason
otherwise.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import stat
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from pathlib import PurePosixPath as P

import pytest

from adapters.files.local_share import LocalDirFileShare
from adapters.files.mounter import Mounter
from adapters.files.opener import SchemeShareOpener, local_share_from_target
from adapters.memory.file_share import InMemoryFileShare
from adapters.process import ChildFailure, ProcessStream, Stage
from ports.errors import ShareFullError, ShareUnavailableError
from ports.file_share import Entry, MountOutcome, ShareTarget
from ports.streams import ReadableStream

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
CHILD_ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}


class ToolError(Exception):
    """What the test children raise when they fail."""

    def __init__(self, failure: ChildFailure) -> None:
        super().__init__(failure.message)


class OddReads(ReadableStream):
    """A readable stream whose reads return the given sizes of fresh random bytes."""

    def __init__(self, sizes: list[int]) -> None:
        self._sizes = list(sizes)
        self.produced = bytearray()
        self._seen: set[int] = set()

    @property
    def buffers(self) -> int:
        """Return how many distinct buffers the consumer read into."""
        return len(self._seen)

    def readinto(self, buffer: bytearray | memoryview) -> int:
        self._seen.add(id(buffer))
        if not self._sizes:
            return 0
        size = min(self._sizes.pop(0), len(buffer))
        data = os.urandom(size)
        memoryview(buffer)[:size] = data
        self.produced += data
        return size

    def __iter__(self) -> Iterator[bytes]:
        raise AssertionError("a readable stream is stored through readinto, not iterated")

    def close(self) -> None:
        self._sizes = []


@pytest.fixture
def root(tmp_path: Path) -> Path:
    share_root = tmp_path / "share"
    share_root.mkdir()
    return share_root


@pytest.fixture
def share(root: Path) -> LocalDirFileShare:
    return LocalDirFileShare(root)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """Return a directory outside the share holding one precious file."""
    directory = tmp_path / "outside"
    directory.mkdir()
    (directory / "precious").write_bytes(b"keep me")
    return directory


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Mount small tmpfs file systems with the given options; unmount them afterwards."""
    mounted: list[Path] = []

    def mount(options: str) -> Path:
        if os.geteuid() != 0:
            pytest.skip("mounting a tmpfs needs root")
        if shutil.which("mount") is None:
            pytest.skip("no mount binary on this host")
        point = tmp_path / f"tmpfs{len(mounted)}"
        point.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in reversed(mounted):
        subprocess.run(["umount", str(point)], check=True)


class RecordingMounter(Mounter):
    """A mounter that "mounts" by creating the root, and records what it was asked to do."""

    def __init__(
        self,
        root: Path,
        outcome: MountOutcome = MountOutcome.MOUNTED,
        *,
        make_root: bool = True,
        error: ShareUnavailableError | None = None,
    ) -> None:
        self.root = root
        self.outcome = outcome
        self.make_root = make_root
        self.error = error
        self.done: list[str] = []

    def mount(self) -> MountOutcome:
        self.done.append("mount")
        if self.error is not None:
            raise self.error
        if self.make_root:
            self.root.mkdir(exist_ok=True)
        return self.outcome

    def unmount(self) -> None:
        self.done.append("unmount")


def resident_bytes() -> int:
    with Path("/proc/self/statm").open() as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class TestLocalDirFileShareMount:
    def test_mount_of_a_writable_directory_needs_nothing(self, share: LocalDirFileShare) -> None:
        assert share.mount() is MountOutcome.NOT_NEEDED
        share.unmount()

    def test_mount_of_a_missing_root_names_it(self, tmp_path: Path) -> None:
        with pytest.raises(ShareUnavailableError, match="does not exist") as caught:
            LocalDirFileShare(tmp_path / "nowhere").mount()

        assert str(tmp_path / "nowhere") in str(caught.value)
        assert "\n" not in str(caught.value)

    def test_mount_of_a_file_as_root_is_refused(self, tmp_path: Path) -> None:
        (tmp_path / "file").write_bytes(b"")

        with pytest.raises(ShareUnavailableError, match="not a directory"):
            LocalDirFileShare(tmp_path / "file").mount()

    def test_mount_of_a_read_only_root_is_refused(
        self, tmp_path: Path, tmpfs: Callable[[str], Path]
    ) -> None:
        if os.geteuid() == 0:
            # chmod does not stop root, a read-only file system does.
            read_only = tmpfs("ro,size=1m")
        else:
            read_only = tmp_path / "read-only"
            read_only.mkdir(mode=0o500)

        with pytest.raises(ShareUnavailableError, match="not writable"):
            LocalDirFileShare(read_only).mount()


class TestLocalDirFileShareWithAMounter:
    def test_mount_and_unmount_go_through_the_mounter_and_report_its_outcome(
        self, tmp_path: Path
    ) -> None:
        mounter = RecordingMounter(tmp_path / "point")
        share = LocalDirFileShare(tmp_path / "point", mounter=mounter)

        assert share.mount() is MountOutcome.MOUNTED
        share.write_stream(P("file"), [b"on the mounted share"])
        share.unmount()

        assert mounter.done == ["mount", "unmount"]
        assert (tmp_path / "point" / "file").read_bytes() == b"on the mounted share"

    def test_a_reused_mount_is_reported_as_reused(self, tmp_path: Path) -> None:
        mounter = RecordingMounter(tmp_path / "point", MountOutcome.REUSED)

        assert LocalDirFileShare(tmp_path / "point", mounter=mounter).mount() is (
            MountOutcome.REUSED
        )

    def test_a_failed_mount_is_the_mounters_error_and_the_root_is_not_checked(
        self, tmp_path: Path
    ) -> None:
        mounter = RecordingMounter(tmp_path / "point", error=ShareUnavailableError("no server"))

        with pytest.raises(ShareUnavailableError, match=r"^no server$"):
            LocalDirFileShare(tmp_path / "point", mounter=mounter).mount()

        assert mounter.done == ["mount"]

    def test_a_root_that_fails_the_check_after_mounting_is_unmounted_again(
        self, tmp_path: Path
    ) -> None:
        mounter = RecordingMounter(tmp_path / "point", make_root=False)

        with pytest.raises(ShareUnavailableError, match="does not exist"):
            LocalDirFileShare(tmp_path / "point", mounter=mounter).mount()

        assert mounter.done == ["mount", "unmount"]

    def test_a_reused_mount_whose_root_fails_the_check_is_left_mounted(
        self, tmp_path: Path
    ) -> None:
        mounter = RecordingMounter(tmp_path / "point", MountOutcome.REUSED, make_root=False)

        with pytest.raises(ShareUnavailableError, match="does not exist"):
            LocalDirFileShare(tmp_path / "point", mounter=mounter).mount()

        assert mounter.done == ["mount"]


class TestLocalDirFileShareWrites:
    def test_partial_files_are_private_while_written_and_after(
        self, share: LocalDirFileShare, root: Path
    ) -> None:
        seen: list[int] = []

        def chunks() -> Iterator[bytes]:
            yield b"first"
            seen.append(stat.S_IMODE((root / "db.dump.gpg.partial").stat().st_mode))
            assert not (root / "db.dump.gpg").exists()
            yield b"second"

        share.write_stream(P("db.dump.gpg"), chunks())

        assert seen == [0o600]
        assert stat.S_IMODE((root / "db.dump.gpg").stat().st_mode) == 0o600
        assert not (root / "db.dump.gpg.partial").exists()

    def test_directories_are_created_private(self, share: LocalDirFileShare, root: Path) -> None:
        share.make_dirs(P("end-of-month/2024-01"))

        assert stat.S_IMODE((root / "end-of-month").stat().st_mode) == 0o700
        assert stat.S_IMODE((root / "end-of-month/2024-01").stat().st_mode) == 0o700

    def test_a_stale_partial_of_the_same_name_is_replaced(
        self, share: LocalDirFileShare, root: Path
    ) -> None:
        (root / "globals.sql.gpg.partial").write_bytes(b"debris of a killed run")

        receipt = share.write_stream(P("globals.sql.gpg"), [b"fresh"])

        assert receipt.bytes == 5
        assert [e.name for e in share.list_dir(P("."))] == ["globals.sql.gpg"]

    def test_a_300_mb_stream_is_written_with_flat_memory(self, share: LocalDirFileShare) -> None:
        baseline = resident_bytes()
        peak = baseline

        def chunks() -> Iterator[bytes]:
            nonlocal peak
            for number in range(300):
                peak = max(peak, resident_bytes())
                # A fresh, filled object each time: an adapter that kept chunks would grow.
                yield bytes([number % 256]) * MiB

        receipt = share.write_stream(P("big.dump.gpg"), chunks())
        peak = max(peak, resident_bytes())

        assert receipt.bytes == 300 * MiB
        assert peak - baseline < 50 * MiB

    def test_a_childs_output_is_stored_exactly_as_hashed(
        self, share: LocalDirFileShare, root: Path, tmp_path: Path
    ) -> None:
        source = tmp_path / "source.bin"
        source.write_bytes(os.urandom(5 * MiB + 12345))
        stream = ProcessStream([Stage(("cat", str(source)), CHILD_ENV, "gpg", ToolError)])

        receipt = share.write_stream(P("db.dump.zst.gpg"), stream)

        stored = (root / "db.dump.zst.gpg").read_bytes()
        assert stored == source.read_bytes()
        assert receipt.bytes == len(stored)
        assert receipt.sha256 == hashlib.sha256(stored).hexdigest()

    def test_a_readable_stream_goes_through_one_buffer_and_every_byte_is_hashed(
        self, share: LocalDirFileShare, root: Path
    ) -> None:
        # Reads of odd sizes, each into the same buffer with new bytes: a hash of anything but
        # exactly what was written (a stale buffer, a wrong slice) would not match the file.
        stream = OddReads([1, 7, 65536, 3, 1024 * 1024, 999_999, 5])

        receipt = share.write_stream(P("db.dump.gpg"), stream)

        stored = (root / "db.dump.gpg").read_bytes()
        assert stored == stream.produced
        assert receipt.sha256 == hashlib.sha256(stored).hexdigest()
        assert receipt.bytes == sum([1, 7, 65536, 3, 1024 * 1024, 999_999, 5])
        assert stream.buffers == 1

    def test_a_child_failing_mid_stream_leaves_no_file(self, share: LocalDirFileShare) -> None:
        script = "head -c 3000000 /dev/urandom; echo 'server closed the connection' >&2; exit 3"
        stream = ProcessStream([Stage(("sh", "-c", script), CHILD_ENV, "pg_dump", ToolError)])

        with pytest.raises(ToolError, match="pg_dump exited with 3: server closed the connection"):
            share.write_stream(P("db.dump.gpg"), stream)

        assert share.list_dir(P(".")) == []

    def test_a_childs_300_mb_output_is_stored_with_flat_memory(
        self, share: LocalDirFileShare
    ) -> None:
        baseline = resident_bytes()
        stream = ProcessStream(
            [Stage(("head", "-c", str(300 * MiB), "/dev/zero"), CHILD_ENV, "gpg", ToolError)]
        )

        receipt = share.write_stream(P("big.dump.gpg"), stream)

        assert receipt.bytes == 300 * MiB
        assert resident_bytes() - baseline < 20 * MiB

    def test_reads_come_in_one_mebibyte_chunks(self, share: LocalDirFileShare) -> None:
        share.write_stream(P("file"), [b"a" * (2 * MiB + 10)])

        assert [len(c) for c in share.read_stream(P("file"))] == [MiB, MiB, 10]

    def test_a_full_share_raises_share_full_and_leaves_no_partial(
        self, tmpfs: Callable[[str], Path]
    ) -> None:
        share = LocalDirFileShare(tmpfs("size=1m,mode=0700"))
        share.mount()

        with pytest.raises(ShareFullError, match="share is full") as caught:
            share.write_stream(P("db.dump.gpg"), (b"x" * 65536 for _ in range(64)))

        assert "\n" not in str(caught.value)
        assert share.list_dir(P(".")) == []

    def test_a_directory_fsync_refused_with_einval_is_tolerated(
        self, share: LocalDirFileShare, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # The one monkeypatch here: CIFS (which refuses fsync on directories) cannot run on
        # this host, so its refusal is simulated for directory descriptors only.
        real_fsync = os.fsync

        def cifs_like_fsync(fd: int) -> None:
            if stat.S_ISDIR(os.fstat(fd).st_mode):
                raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
            real_fsync(fd)

        monkeypatch.setattr(os, "fsync", cifs_like_fsync)
        share.make_dirs(P("run.partial"))

        share.write_stream(P("run.partial/db"), [b"dump"])
        share.rename(P("run.partial"), P("run"))

        assert b"".join(share.read_stream(P("run/db"))) == b"dump"

    def test_a_directory_fsync_failing_otherwise_is_reported(
        self, share: LocalDirFileShare, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        real_fsync = os.fsync

        def failing_fsync(fd: int) -> None:
            if stat.S_ISDIR(os.fstat(fd).st_mode):
                raise OSError(errno.EIO, os.strerror(errno.EIO))
            real_fsync(fd)

        monkeypatch.setattr(os, "fsync", failing_fsync)

        with pytest.raises(ShareUnavailableError, match="cannot fsync directory"):
            share.write_stream(P("db"), [b"dump"])


class TestLocalDirFileShareSymlinks:
    def test_a_symlink_pointing_outside_is_listed_as_a_symlink(
        self, share: LocalDirFileShare, root: Path, outside: Path
    ) -> None:
        share.make_dirs(P("run"))
        (root / "run/to-dir").symlink_to(outside)
        (root / "run/to-file").symlink_to(outside / "precious")

        assert share.list_dir(P("run")) == [
            Entry("to-dir", is_dir=False, is_symlink=True),
            Entry("to-file", is_dir=False, is_symlink=True),
        ]
        assert share.exists(P("run/to-dir"))

    def test_delete_tree_removes_symlinks_but_not_their_targets(
        self, share: LocalDirFileShare, root: Path, outside: Path
    ) -> None:
        share.make_dirs(P("tier/run"))
        (root / "tier/run/to-dir").symlink_to(outside)
        (root / "tier/run/to-file").symlink_to(outside / "precious")

        share.delete_tree(P("tier/run"))

        assert share.list_dir(P("tier")) == []
        assert (outside / "precious").read_bytes() == b"keep me"

    def test_delete_tree_of_a_symlink_is_refused(
        self, share: LocalDirFileShare, root: Path, outside: Path
    ) -> None:
        (root / "run").symlink_to(outside)

        with pytest.raises(ShareUnavailableError, match="symlink"):
            share.delete_tree(P("run"))

        assert (outside / "precious").read_bytes() == b"keep me"

    def test_delete_file_of_a_symlink_removes_the_link_only(
        self, share: LocalDirFileShare, root: Path, outside: Path
    ) -> None:
        (root / "link").symlink_to(outside / "precious")

        share.delete_file(P("link"))

        assert not share.exists(P("link"))
        assert (outside / "precious").read_bytes() == b"keep me"

    @pytest.mark.parametrize(
        "use",
        [
            pytest.param(lambda s: s.write_stream(P("link/new"), [b"x"]), id="write"),
            pytest.param(lambda s: b"".join(s.read_stream(P("link/precious"))), id="read"),
            pytest.param(lambda s: s.list_dir(P("link")), id="list"),
            pytest.param(lambda s: s.make_dirs(P("link/sub")), id="make_dirs"),
            pytest.param(lambda s: s.delete_file(P("link/precious")), id="delete_file"),
            pytest.param(lambda s: s.rename(P("link/precious"), P("stolen")), id="rename"),
            pytest.param(lambda s: s.exists(P("link/precious")), id="exists"),
        ],
    )
    def test_paths_through_a_symlinked_directory_are_refused(
        self,
        share: LocalDirFileShare,
        root: Path,
        outside: Path,
        use: Callable[[LocalDirFileShare], object],
    ) -> None:
        (root / "link").symlink_to(outside)

        with pytest.raises(ShareUnavailableError, match="symlink"):
            use(share)

        assert sorted(p.name for p in outside.iterdir()) == ["precious"]
        assert (outside / "precious").read_bytes() == b"keep me"

    def test_reading_a_symlinked_file_is_refused(
        self, share: LocalDirFileShare, root: Path, outside: Path
    ) -> None:
        (root / "link").symlink_to(outside / "precious")

        with pytest.raises(ShareUnavailableError):
            b"".join(share.read_stream(P("link")))


class TestLocalDirFileSharePaths:
    @pytest.mark.parametrize("path", ["../escape", "run/../../escape", "/tmp/escape"])
    def test_paths_leaving_the_share_are_refused(
        self, share: LocalDirFileShare, tmp_path: Path, path: str
    ) -> None:
        with pytest.raises(ShareUnavailableError, match=r"relative|'\.\.'"):
            share.write_stream(P(path), [b"x"])

        assert not (tmp_path / "escape").exists()

    def test_deleting_the_share_root_is_refused(self, share: LocalDirFileShare, root: Path) -> None:
        with pytest.raises(ShareUnavailableError, match="root"):
            share.delete_tree(P("."))

        assert root.is_dir()


class TestShareOpener:
    def test_a_file_url_opens_a_local_share_at_its_decoded_path(self, tmp_path: Path) -> None:
        opener = SchemeShareOpener({"file": local_share_from_target})

        opened = opener.open(ShareTarget("acme", f"file://{tmp_path}/my%20share"))

        assert isinstance(opened, LocalDirFileShare)
        assert opened.root == tmp_path / "my share"

    def test_a_unc_path_opens_the_cifs_driver(self) -> None:
        smb = InMemoryFileShare()
        opener = SchemeShareOpener({"file": local_share_from_target, "cifs": lambda _: smb})

        assert opener.open(ShareTarget("acme", "//acct.file.core.windows.net/acme")) is smb

    def test_an_unknown_scheme_is_refused_without_echoing_the_url(self) -> None:
        opener = SchemeShareOpener({"file": local_share_from_target})

        with pytest.raises(ShareUnavailableError) as caught:
            opener.open(ShareTarget("acme", "smb://user:hunter2@host/share"))

        assert str(caught.value) == "no share driver for 'smb://...'"

    def test_a_unc_without_scheme_is_refused(self) -> None:
        opener = SchemeShareOpener({"file": local_share_from_target})

        with pytest.raises(ShareUnavailableError, match="no scheme"):
            opener.open(ShareTarget("acme", "/srv/backups"))

    @pytest.mark.parametrize(
        "unc", ["file://otherhost/srv", "file:relative/path", "file:///srv?x=1", "http:///srv"]
    )
    def test_file_urls_that_are_not_local_absolute_paths_are_refused(self, unc: str) -> None:
        with pytest.raises(ShareUnavailableError):
            local_share_from_target(ShareTarget("acme", unc))
