"""CifsMount: mount `//host/share` with the kernel CIFS client on `<mount_root>/<client>`.

`[share] cifs_driver = "mount"`. The share is mounted at `<mount_root>/<client>` (0700) with
`mount -t cifs` (through `sudo -n` when `[share] use_sudo` is set; sudoers must allow `mount -t
cifs` and `umount` for the job's user), the storage key going through a 0600 credentials file
that is removed as soon as mount returns (SPEC section 9). A mount of the same share already on
the mount point is reused and left mounted (SPEC section 4). CifsMount only mounts: the container
hands it to a LocalDirFileShare on the mount point (`LocalDirFileShare(mount.mount_point,
mounter=mount)`), which does every file operation and checks the mounted root.

The kernel mount cannot run in the test environment: tests/integration/test_cifs_mount.py puts
recording fakes of `mount`, `umount` and `sudo` on the children's PATH, and the file operations
are LocalDirFileShare's (tests/contract/test_file_share.py).
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path

from adapters.cifs.credentials import credentials_file
from adapters.cifs.mountinfo import CIFS_FSTYPES, DEFAULT_MOUNTINFO, mounted_at
from adapters.cifs.options import checked_options, mount_options, safe_component
from adapters.process.env import child_env, inherited_env
from adapters.process.private_dirs import make_private_dirs
from adapters.process.run import ChildError, run_command
from adapters.process.text import one_line
from domain.models.redaction import Redactor
from domain.models.unc import UncError, UncPath, parse_unc
from ports.errors import ConfigError, ShareUnavailableError
from ports.file_share import MountOutcome, ShareTarget

logger = logging.getLogger("lts.cifs")

MOUNT_POINT_MODE = 0o700
DEFAULT_TIMEOUT_SECONDS = 120.0


def default_runner_env() -> dict[str, str]:
    """Return the environment of mount and umount: PATH and the C locale, nothing else.

    Not even USER or PASSWD of the job pass: mount.cifs would read a password from them.
    """
    inherited = inherited_env(("PATH",))
    inherited.setdefault("PATH", os.defpath)
    return child_env(inherited, LC_ALL="C")


class CifsMount:
    """A client's Azure Files (or any SMB 3) share, mounted by the kernel at `mount_root/<client>`.

    It mounts and unmounts and nothing else: a Mounter for LocalDirFileShare (adapters/files).
    `unmount` only undoes what `mount` did, so a reused mount is left mounted.

    Args:
        target: the share, its user (`storage-name`) and key (`storage-key`).
        mount_root: `[paths] mount_root`; the mount point `<mount_root>/<client>` is made 0700.
        redactor: learns the storage key and masks the tools' output with it.
        use_sudo: `[share] use_sudo`: run mount and umount through `sudo -n` (never prompts).
        extra_options: `[share] mount_options`, appended to the fixed options (no credentials).
        runner_env: the environment of the mount and umount children
            (default: `default_runner_env()`).
        mountinfo: the mount table to read (tests point it at a file of their own).
        mount_binary: the mount command.
        umount_binary: the umount command.
        timeout_seconds: how long mount or umount may take before it is killed.
        credentials_dir: where the short-lived credentials file is made (default: temp dir).

    Raises:
        ConfigError: The target has no storage name or key, the client name cannot name a
            mount point, or `extra_options` carry credentials or blanks.
        ShareUnavailableError: The UNC is not `//host/share[/path]`.
    """

    def __init__(
        self,
        target: ShareTarget,
        *,
        mount_root: Path,
        redactor: Redactor,
        use_sudo: bool = False,
        extra_options: str = "",
        runner_env: Mapping[str, str] | None = None,
        mountinfo: Path = DEFAULT_MOUNTINFO,
        mount_binary: str = "mount",
        umount_binary: str = "umount",
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        credentials_dir: Path | None = None,
    ) -> None:
        if not target.user or target.key is None:
            raise ConfigError("storage-name and storage-key are required for a //host/share")
        redactor.add(target.key)
        self.unc: UncPath = _parse(target.unc)
        self.mount_point: Path = mount_root.absolute() / safe_component(target.client)
        self._user = target.user
        self._key = target.key
        self._redactor = redactor
        self._sudo = ("sudo", "-n") if use_sudo else ()
        self._extra_options = checked_options(extra_options)
        self._env = dict(runner_env) if runner_env is not None else default_runner_env()
        self._mountinfo = mountinfo
        self._mount_binary = mount_binary
        self._umount_binary = umount_binary
        self._timeout = timeout_seconds
        self._credentials_dir = credentials_dir
        self._mounted = False

    def mount(self) -> MountOutcome:
        """Mount the share, or reuse a mount of the same share already on the mount point.

        Raises:
            ShareUnavailableError: mount failed (its stderr, masked, in one line), another share
                is mounted there, or mount reported success but mounted no CIFS share.
        """
        self._prepare_mount_point()
        existing = mounted_at(self.mount_point, self._mountinfo)
        if existing is not None:
            if existing.fstype not in CIFS_FSTYPES or not self.unc.same_share(existing.source):
                raise ShareUnavailableError(
                    f"{self.mount_point} already holds {existing.source} ({existing.fstype}),"
                    f" not {self.unc.source}"
                )
            logger.info("reusing the mount of %s at %s", self.unc.source, self.mount_point)
            return MountOutcome.REUSED
        with credentials_file(self._user, self._key, self._credentials_dir) as credentials:
            failure = self._run(self._mount_argv(credentials))
        if failure is not None:
            raise ShareUnavailableError(
                f"cannot mount {self.unc.source} at {self.mount_point}: {failure}"
            )
        self._mounted = True
        self._check_mounted()
        return MountOutcome.MOUNTED

    def unmount(self) -> None:
        """Unmount what `mount` mounted; a busy share is unmounted lazily (`umount -l`).

        Raises:
            ShareUnavailableError: Neither umount nor `umount -l` succeeded.
        """
        if not self._mounted:
            return
        failure = self._run([*self._sudo, self._umount_binary, str(self.mount_point)])
        if failure is not None:
            logger.warning(
                "cannot unmount %s (%s); unmounting it lazily", self.mount_point, failure
            )
            lazy_failure = self._run(
                [*self._sudo, self._umount_binary, "-l", str(self.mount_point)]
            )
            if lazy_failure is not None:
                raise ShareUnavailableError(
                    f"cannot unmount {self.mount_point}: {failure}; lazily: {lazy_failure}"
                )
        self._mounted = False
        _remove_empty_dir(self.mount_point)

    def mount_options(self, credentials: Path) -> str:
        """Return the `-o` value: fixed options, the job's uid/gid, credentials, extra options."""
        return mount_options(credentials, self._extra_options)

    def _mount_argv(self, credentials: Path) -> list[str]:
        return [
            *self._sudo,
            self._mount_binary,
            "-t",
            "cifs",
            self.unc.source,
            str(self.mount_point),
            "-o",
            self.mount_options(credentials),
        ]

    def _prepare_mount_point(self) -> None:
        """Create `<mount_root>/<client>` (0700); refuse a symlink or a non-directory there."""
        try:
            make_private_dirs(self.mount_point.parent)
            with contextlib.suppress(FileExistsError):
                self.mount_point.mkdir(MOUNT_POINT_MODE)
            mode = self.mount_point.lstat().st_mode
        except OSError as error:
            raise ShareUnavailableError(
                f"cannot create the mount point {self.mount_point}: {error.strerror or error}"
            ) from None
        if stat.S_ISLNK(mode) or not stat.S_ISDIR(mode):
            raise ShareUnavailableError(f"the mount point {self.mount_point} is not a directory")

    def _check_mounted(self) -> None:
        """Make sure the share, not the bare mount point on the local disk, will be written.

        A mount that "succeeds" without mounting (a wrapper script, say) would otherwise send
        the backups to the host's own disk.
        """
        try:
            entry = mounted_at(self.mount_point, self._mountinfo)
            if entry is None or entry.fstype not in CIFS_FSTYPES:
                raise ShareUnavailableError(
                    f"mount reported success but {self.mount_point} holds no CIFS mount"
                )
        except ShareUnavailableError:
            self._unmount_after_failed_mount()
            raise

    def _unmount_after_failed_mount(self) -> None:
        try:
            self.unmount()
        except ShareUnavailableError as error:
            logger.error("%s", error)

    def _run(self, argv: Sequence[str]) -> str | None:
        """Run mount or umount; return None on success, else why it failed (masked, one line).

        Output goes to a file, not a pipe (`to_file`): a helper that outlives a killed mount
        (mount.cifs under sudo, say) would hold a pipe open and block the job past its timeout.
        """
        try:
            completed = run_command(
                argv,
                env=self._env,
                timeout=self._timeout,
                to_file=True,
                shown=self._redactor.redact(" ".join(argv)),
            )
        except ChildError as error:
            return str(error)
        if completed.ok:
            return None
        return one_line(completed.stderr, self._redactor) or f"exit status {completed.returncode}"


def _parse(unc: str) -> UncPath:
    """Return the parts of `storage-unc`, a bad one being a share problem of the client config."""
    try:
        return parse_unc(unc)
    except UncError as error:
        raise ShareUnavailableError(str(error)) from None


def _remove_empty_dir(directory: Path) -> None:
    """Remove the mount point after unmounting, keeping it when anything is (still) in it."""
    try:
        directory.rmdir()
    except OSError as error:
        logger.info("keeping %s: %s", directory, error.strerror)
