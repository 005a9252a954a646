"""CifsMount with recording fakes of `mount`, `umount` and `sudo`, composed as the container does.

The one allowed stand-in of the suite: a kernel CIFS mount cannot run here (no Azure Files, and
mounting needs CAP_SYS_ADMIN and a CIFS server the kernel can reach). The fakes are shell scripts
on the children's PATH. `mount` records its argv, its environment and the content and mode of
the credentials file while that file exists, then "mounts" by adding a line to a mountinfo file
the adapter is pointed at, so the mount point stays a plain directory on which the file
operations (LocalDirFileShare's, tested by the FileShare contract) really run. `umount` removes
that line. Everything else (the mounter, the local-directory share on its mount point, the
credentials file, the mount point, the machine) is real.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from pathlib import PurePosixPath as P

import pytest
from pydantic import SecretStr, ValidationError

from adapters.cifs.mount import CifsMount
from adapters.files.local_share import LocalDirFileShare
from adapters.files.opener import SchemeShareOpener
from adapters.memory.config_source import InMemoryConfigSource
from adapters.memory.lock import InMemoryLock
from adapters.smb.share import SmbFileShare
from domain.framework.definition import node
from domain.framework.machine import Machine, Step
from domain.framework.results import Failure
from domain.machines.mount import ClientContext, MountShareMachine
from domain.models.redaction import Redactor
from entrypoints.settings import ShareSettings
from ports.errors import ConfigError, ShareUnavailableError
from ports.file_share import Entry, MountOutcome, ShareTarget
from tests.support.memory_world import STORAGE_KEY, client_values

pytestmark = pytest.mark.integration

UNC = "//files.example.test/backups"
USER = "acmestorage"

FAKE_MOUNT = r"""#!/bin/bash
log="$FAKE_LOG/mount.$$"
printf '%s\n' "$@" > "$log.argv"
env > "$log.env"
IFS=',' read -ra options <<< "${@: -1}"
for option in "${options[@]}"; do
  case "$option" in
    credentials=*)
      file="${option#credentials=}"
      cat "$file" > "$log.creds"
      stat -c %a "$file" > "$log.mode"
      stat -c %a "$(dirname "$file")" > "$log.dirmode"
      echo "$file" > "$log.path";;
  esac
done
if [ -n "$FAKE_MOUNT_ERROR" ]; then
  echo "$FAKE_MOUNT_ERROR" >&2
  echo "Refer to the mount.cifs(8) manual page (e.g. man mount.cifs)" >&2
  exit 32
fi
if [ -n "$FAKE_MOUNT_SLEEP" ]; then exec sleep "$FAKE_MOUNT_SLEEP"; fi
if [ -z "$FAKE_MOUNT_NOOP" ]; then
  echo "300 29 0:99 / $4 rw,relatime shared:9 - cifs $3 rw,vers=3.1.1" >> "$FAKE_MOUNTINFO"
fi
if [ -n "$FAKE_MOUNT_BREAK_ROOT" ]; then rmdir "$4" && echo "not a directory" > "$4"; fi
"""

FAKE_UMOUNT = r"""#!/bin/bash
echo "umount $*" >> "$FAKE_LOG/umount.calls"
point="${@: -1}"
if [ "$1" != "-l" ] && [ -n "$FAKE_UMOUNT_ERROR" ]; then
  echo "umount: $point: target is busy." >&2; exit 32
fi
if [ "$1" = "-l" ] && [ -n "$FAKE_LAZY_ERROR" ]; then
  echo "umount: $point: not mounted." >&2; exit 32
fi
grep -v -F " $point " "$FAKE_MOUNTINFO" > "$FAKE_MOUNTINFO.new"
mv "$FAKE_MOUNTINFO.new" "$FAKE_MOUNTINFO"
"""

FAKE_SUDO = r"""#!/bin/bash
echo "sudo $*" >> "$FAKE_LOG/sudo.calls"
[ "$1" = "-n" ] && shift
exec "$@"
"""

ROOT_LINE = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"


@dataclass
class Fakes:
    """The fake tools, what they recorded, and the mountinfo file they maintain."""

    bin: Path
    log: Path
    mountinfo: Path
    mount_root: Path

    def env(self, **switches: str) -> dict[str, str]:
        return {
            "PATH": f"{self.bin}:{os.defpath}",
            "LC_ALL": "C",
            "FAKE_LOG": str(self.log),
            "FAKE_MOUNTINFO": str(self.mountinfo),
            **switches,
        }

    def mount_records(self, suffix: str) -> list[str]:
        return [path.read_text() for path in sorted(self.log.glob(f"mount.*.{suffix}"))]

    def calls(self, tool: str) -> list[str]:
        path = self.log / f"{tool}.calls"
        return path.read_text().splitlines() if path.exists() else []

    def everything_recorded(self) -> str:
        return "".join(path.read_text() for path in self.log.iterdir())


@pytest.fixture
def fakes(tmp_path: Path) -> Fakes:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, script in (("mount", FAKE_MOUNT), ("umount", FAKE_UMOUNT), ("sudo", FAKE_SUDO)):
        (bin_dir / name).write_text(script)
        (bin_dir / name).chmod(0o755)
    log = tmp_path / "log"
    log.mkdir()
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(ROOT_LINE)
    return Fakes(bin_dir, log, mountinfo, tmp_path / "mnt")


def make_mount(
    fakes: Fakes,
    *,
    unc: str = UNC,
    redactor: Redactor | None = None,
    timeout_seconds: float = 30,
    **options: object,
) -> CifsMount:
    switches = {k: str(v) for k, v in options.items() if k.startswith("FAKE_")}
    settings = {k: v for k, v in options.items() if not k.startswith("FAKE_")}
    return CifsMount(
        ShareTarget("acme", unc, USER, SecretStr(STORAGE_KEY)),
        mount_root=fakes.mount_root,
        redactor=redactor or Redactor(),
        runner_env=fakes.env(**switches),
        mountinfo=fakes.mountinfo,
        timeout_seconds=timeout_seconds,
        **settings,  # type: ignore[arg-type]
    )


def on_mount(mount: CifsMount) -> LocalDirFileShare:
    """Compose the share as the container does: a local-directory share on the mount point."""
    return LocalDirFileShare(mount.mount_point, mounter=mount)


def make_share(fakes: Fakes, **options: object) -> LocalDirFileShare:
    return on_mount(make_mount(fakes, **options))  # type: ignore[arg-type]


class TestMount:
    def test_mount_runs_mount_cifs_with_the_fixed_options_and_a_credentials_file(
        self, fakes: Fakes
    ) -> None:
        share = make_share(fakes)

        assert share.mount() is MountOutcome.MOUNTED

        point = fakes.mount_root / "acme"
        [argv] = fakes.mount_records("argv")
        [credentials] = fakes.mount_records("path")
        assert argv.splitlines() == [
            "-t",
            "cifs",
            UNC,
            str(point),
            "-o",
            "vers=3.1.1,serverino,nosharesock,actimeo=30,mfsymlinks,"
            f"uid={os.getuid()},gid={os.getgid()},dir_mode=0700,file_mode=0600,"
            f"credentials={credentials.strip()}",
        ]

    def test_the_mount_point_is_the_client_below_the_mount_root_with_mode_0700(
        self, fakes: Fakes
    ) -> None:
        make_share(fakes).mount()

        point = fakes.mount_root / "acme"
        assert stat.S_IMODE(point.stat().st_mode) == 0o700

    def test_the_credentials_file_holds_the_login_with_mode_0600_and_is_gone_after_mount(
        self, fakes: Fakes
    ) -> None:
        make_share(fakes).mount()

        assert fakes.mount_records("creds") == [f"username={USER}\npassword={STORAGE_KEY}\n"]
        assert fakes.mount_records("mode") == ["600\n"]
        assert fakes.mount_records("dirmode") == ["700\n"]
        credentials = Path(fakes.mount_records("path")[0].strip())
        assert not credentials.exists()
        assert not credentials.parent.exists()

    def test_the_storage_key_is_never_on_argv_nor_in_any_environment(self, fakes: Fakes) -> None:
        make_share(fakes).mount()

        assert STORAGE_KEY not in "".join(fakes.mount_records("argv"))
        assert STORAGE_KEY not in "".join(fakes.mount_records("env"))
        assert STORAGE_KEY not in "".join(os.environ.values())
        assert "PASSWD=" not in "".join(fakes.mount_records("env"))

    def test_a_mount_failure_is_one_masked_line_and_removes_the_credentials_file(
        self, fakes: Fakes
    ) -> None:
        share = make_share(
            fakes, FAKE_MOUNT_ERROR=f"mount error(13): Permission denied for {STORAGE_KEY}"
        )

        with pytest.raises(ShareUnavailableError) as raised:
            share.mount()

        message = str(raised.value)
        point = fakes.mount_root / "acme"
        assert message.startswith(
            f"cannot mount {UNC} at {point}: mount error(13): Permission denied for *****"
        )
        assert "\n" not in message
        assert STORAGE_KEY not in message
        assert not Path(fakes.mount_records("path")[0].strip()).exists()

    def test_a_mount_that_hangs_is_stopped_after_the_timeout(self, fakes: Fakes) -> None:
        share = make_share(fakes, timeout_seconds=0.5, FAKE_MOUNT_SLEEP="30")

        with pytest.raises(ShareUnavailableError, match=r"mount did not finish within 0\.5 s"):
            share.mount()

        assert not Path(fakes.mount_records("path")[0].strip()).exists()

    def test_a_mount_that_succeeds_without_mounting_is_refused(self, fakes: Fakes) -> None:
        share = make_share(fakes, FAKE_MOUNT_NOOP="1")

        with pytest.raises(ShareUnavailableError, match="holds no CIFS mount"):
            share.mount()

    def test_a_mounted_share_whose_root_fails_the_check_is_unmounted_again(
        self, fakes: Fakes
    ) -> None:
        share = make_share(fakes, FAKE_MOUNT_BREAK_ROOT="1")

        with pytest.raises(ShareUnavailableError, match=r"share root .*acme is not a directory"):
            share.mount()

        point = fakes.mount_root / "acme"
        assert fakes.calls("umount") == [f"umount {point}"]
        assert str(point) not in fakes.mountinfo.read_text()

    def test_a_missing_mount_binary_is_a_share_error(self, fakes: Fakes) -> None:
        share = make_share(fakes, mount_binary="no-such-mount-binary")

        with pytest.raises(ShareUnavailableError, match="cannot run no-such-mount-binary"):
            share.mount()

    def test_use_sudo_runs_mount_and_umount_through_sudo_without_prompting(
        self, fakes: Fakes
    ) -> None:
        share = make_share(fakes, use_sudo=True)

        share.mount()
        share.unmount()

        calls = fakes.calls("sudo")
        assert calls[0].startswith(f"sudo -n mount -t cifs {UNC} ")
        assert calls[1] == f"sudo -n umount {fakes.mount_root / 'acme'}"
        assert STORAGE_KEY not in "".join(calls)

    def test_extra_mount_options_are_appended(self, fakes: Fakes) -> None:
        make_share(fakes, extra_options=" noperm, cache=strict ").mount()

        [argv] = fakes.mount_records("argv")
        assert argv.splitlines()[-1].endswith(",noperm,cache=strict")

    @pytest.mark.parametrize("option", ["password=x", "PASS=x", "username=u", "credentials=/f"])
    def test_extra_mount_options_that_carry_credentials_are_refused(
        self, fakes: Fakes, option: str
    ) -> None:
        with pytest.raises(ConfigError, match="must not set"):
            make_share(fakes, extra_options=f"noperm,{option}")

    def test_file_operations_work_on_the_mount_point(self, fakes: Fakes) -> None:
        share = make_share(fakes)
        share.mount()

        share.make_dirs(P("end-of-month/2026-11"))
        receipt = share.write_stream(P("end-of-month/2026-11/db.dump.gpg"), [b"dump"])

        assert receipt.bytes == 4
        landed = fakes.mount_root / "acme" / "end-of-month" / "2026-11" / "db.dump.gpg"
        assert landed.read_bytes() == b"dump"
        assert share.list_dir(P("end-of-month")) == [Entry("2026-11", is_dir=True)]
        share.append_line(P("retention.log"), "deleted nothing")
        assert (landed.parents[2] / "retention.log").read_text() == "deleted nothing\n"


class TestReuse:
    def test_a_mount_of_the_same_share_is_reused_and_left_mounted(self, fakes: Fakes) -> None:
        point = fakes.mount_root / "acme"
        point.mkdir(parents=True)
        with fakes.mountinfo.open("a") as table:
            table.write(f"40 22 0:50 / {point} rw - cifs //FILES.Example.test/backups rw\n")
        share = make_share(fakes)

        assert share.mount() is MountOutcome.REUSED
        share.unmount()

        assert fakes.mount_records("argv") == []
        assert fakes.calls("umount") == []

    def test_a_mount_point_with_blanks_is_found_in_the_escaped_mount_table(
        self, fakes: Fakes
    ) -> None:
        fakes.mount_root = fakes.mount_root.with_name("mount root")
        point = fakes.mount_root / "acme"
        point.mkdir(parents=True)
        escaped = str(point).replace(" ", "\\040")
        with fakes.mountinfo.open("a") as table:
            table.write(f"40 22 0:50 / {escaped} rw shared:3 - smb3 {UNC} rw\n")

        assert make_share(fakes).mount() is MountOutcome.REUSED

    def test_another_share_on_the_mount_point_is_refused(self, fakes: Fakes) -> None:
        point = fakes.mount_root / "acme"
        point.mkdir(parents=True)
        with fakes.mountinfo.open("a") as table:
            table.write(f"40 22 0:50 / {point} rw - cifs //other.example.test/backups rw\n")

        with pytest.raises(ShareUnavailableError, match=r"already holds //other\.example\.test"):
            make_share(fakes).mount()

        assert fakes.mount_records("argv") == []


class TestUnmount:
    def test_unmount_runs_umount_and_removes_the_empty_mount_point(self, fakes: Fakes) -> None:
        share = make_share(fakes)
        share.mount()

        share.unmount()

        point = fakes.mount_root / "acme"
        assert fakes.calls("umount") == [f"umount {point}"]
        assert str(point) not in fakes.mountinfo.read_text()
        assert not point.exists()

    def test_a_busy_share_is_unmounted_lazily(self, fakes: Fakes) -> None:
        share = make_share(fakes, FAKE_UMOUNT_ERROR="1")
        share.mount()

        share.unmount()

        point = fakes.mount_root / "acme"
        assert fakes.calls("umount") == [f"umount {point}", f"umount -l {point}"]
        assert str(point) not in fakes.mountinfo.read_text()

    def test_when_even_the_lazy_unmount_fails_both_reasons_are_reported(self, fakes: Fakes) -> None:
        share = make_share(fakes, FAKE_UMOUNT_ERROR="1", FAKE_LAZY_ERROR="1")
        share.mount()

        with pytest.raises(ShareUnavailableError) as raised:
            share.unmount()

        point = fakes.mount_root / "acme"
        assert str(raised.value) == (
            f"cannot unmount {point}: umount: {point}: target is busy.;"
            f" lazily: umount: {point}: not mounted."
        )

    def test_unmount_without_mount_does_nothing(self, fakes: Fakes) -> None:
        make_share(fakes).unmount()

        assert fakes.calls("umount") == []


class TestComposition:
    def target(self) -> ShareTarget:
        return ShareTarget("acme", UNC, USER, SecretStr(STORAGE_KEY))

    def test_the_mount_driver_is_a_local_share_on_the_mount_point_below_the_mount_root(
        self, fakes: Fakes
    ) -> None:
        mount = CifsMount(self.target(), mount_root=fakes.mount_root, redactor=Redactor())

        share = on_mount(mount)

        assert mount.mount_point == fakes.mount_root / "acme"
        assert share.root == mount.mount_point
        assert share.mounter is mount

    def test_the_smb_driver_builds_a_userspace_share(self) -> None:
        share = SmbFileShare(self.target(), redactor=Redactor())

        assert share.unc.source == UNC

    def test_an_unknown_driver_is_refused_by_the_master_config(self) -> None:
        # The container chooses the driver by `[share] cifs_driver`; the settings admit only
        # the drivers it knows.
        with pytest.raises(ValidationError, match="cifs_driver"):
            ShareSettings(cifs_driver="nfs")

    def test_building_the_mount_registers_the_storage_key_for_masking(self, fakes: Fakes) -> None:
        redactor = Redactor()
        CifsMount(self.target(), mount_root=fakes.mount_root, redactor=redactor)

        assert redactor.redact(STORAGE_KEY) == "*****"

    def test_a_unc_that_is_not_host_and_share_is_a_share_error_without_the_value(
        self, fakes: Fakes
    ) -> None:
        with pytest.raises(ShareUnavailableError) as raised:
            make_mount(fakes, unc=f"//only-{STORAGE_KEY}")

        assert str(raised.value) == "storage-unc must name a host and a share: //host/share"


# ---------------------------------------------------------------- through MountShareMachine

MOUNT_NODES = ["read_config", "take_lock", "open_share", "mount_share"]
AFTER = ["run_machine", "unmount_share", "release_lock"]


class Writer(Machine):
    """A wrapped machine that writes one file to the share, then succeeds or fails."""

    def __init__(self, context: ClientContext, mode: str = "ok") -> None:
        super().__init__()
        self.context = context
        self.mode = mode

    @node(
        entry=True,
        happy=("report_results",),
        unhappy=("report_results",),
        on_exception="report_results",
    )
    def work(self) -> Step:
        self.context.share.write_stream(P("written"), [b"data"])
        if self.mode == "fail":
            return self.failure(self.report_results, "inner failed")
        return self.success(self.report_results)


class Exploding(Machine):
    """A wrapped machine whose exception escapes it."""

    def __init__(self, context: ClientContext) -> None:
        super().__init__()

    @node(entry=True, happy=("report_results",), on_exception="<let exceptions through>")
    def work(self) -> Step:
        raise RuntimeError("inner crashed")


def run_machine(fakes: Fakes, inner: Callable[[ClientContext], Machine], **switches: str):
    """Run a MountShareMachine whose `cifs` opener builds the share on the fakes."""
    redactor = Redactor()

    def cifs(target: ShareTarget) -> LocalDirFileShare:
        return on_mount(
            CifsMount(
                target,
                mount_root=fakes.mount_root,
                redactor=redactor,
                runner_env=fakes.env(**switches),
                mountinfo=fakes.mountinfo,
            )
        )

    values = client_values(**{"storage-unc": UNC, "storage-name": USER, "storage-key": STORAGE_KEY})
    machine = MountShareMachine(
        job="backup",
        client="acme",
        source=InMemoryConfigSource(values),
        opener=SchemeShareOpener({"cifs": cifs}),
        inner=inner,
        redactor=redactor,
        lock=InMemoryLock({}),
    )
    return machine.execute()


class TestThroughTheMountMachine:
    def test_a_clean_run_mounts_writes_on_the_share_and_unmounts(self, fakes: Fakes) -> None:
        results = run_machine(fakes, Writer)

        point = fakes.mount_root / "acme"
        assert [r.node for r in results] == [*MOUNT_NODES, "work", *AFTER]
        assert all(r.ok for r in results)
        assert (point / "written").read_bytes() == b"data"
        assert len(fakes.mount_records("argv")) == 1
        assert fakes.calls("umount") == [f"umount {point}"]

    def test_a_failed_inner_machine_still_unmounts(self, fakes: Fakes) -> None:
        results = run_machine(fakes, lambda context: Writer(context, "fail"))

        assert [r.node for r in results] == [*MOUNT_NODES, "work", *AFTER]
        assert [r.ok for r in results].count(False) == 1
        assert fakes.calls("umount") == [f"umount {fakes.mount_root / 'acme'}"]

    def test_a_crashed_inner_machine_still_unmounts(self, fakes: Fakes) -> None:
        results = run_machine(fakes, Exploding)

        assert [r.node for r in results] == [*MOUNT_NODES, *AFTER]
        assert results[4] == Failure("run_machine", "acme unrecognized exception: inner crashed")
        assert fakes.calls("umount") == [f"umount {fakes.mount_root / 'acme'}"]
        assert str(fakes.mount_root / "acme") not in fakes.mountinfo.read_text()

    def test_a_failed_mount_is_one_failure_and_nothing_is_unmounted(self, fakes: Fakes) -> None:
        results = run_machine(fakes, Writer, FAKE_MOUNT_ERROR="mount error(13): Permission denied")

        point = fakes.mount_root / "acme"
        assert [r.node for r in results] == [*MOUNT_NODES, "release_lock"]
        assert results[3] == Failure(
            "mount_share",
            f"acme cannot mount {UNC} at {point}: mount error(13): Permission denied;"
            " Refer to the mount.cifs(8) manual page (e.g. man mount.cifs)",
        )
        assert fakes.calls("umount") == []
        assert STORAGE_KEY not in str(results)
