"""CifsMountFileShare: mount `//host/share` with the kernel CIFS client, then use it as a directory.

`[share] cifs_driver = "mount"`. The share is mounted at `<mount_root>/<client>` (0700) with
`mount -t cifs` (through `sudo -n` when `[share] use_sudo` is set; sudoers must allow `mount -t
cifs` and `umount` for the job's user), the storage key going through a 0600 credentials file
that is removed as soon as mount returns (SPEC section 9). A mount of the same share already on
the mount point is reused and left mounted (SPEC section 4). Once mounted, every file operation
is a LocalDirFileShare's on the mount point.

The kernel mount cannot run in the test environment: tests/integration/test_cifs_mount.py puts
recording fakes of `mount`, `umount` and `sudo` on the children's PATH and the contract of the
file operations is LocalDirFileShare's (tests/contract/test_file_share.py).
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import subprocess
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath

from adapters.cifs.credentials import credentials_file
from adapters.cifs.mountinfo import CIFS_FSTYPES, DEFAULT_MOUNTINFO, mounted_at
from adapters.cifs.unc import UncPath, parse_unc
from adapters.files.local_share import LocalDirFileShare
from adapters.postgres.text import one_line
from domain.models.redaction import Redactor
from ports.errors import ConfigError, ShareUnavailableError
from ports.file_share import Entry, FileShare, MountOutcome, ShareTarget, WriteReceipt

logger = logging.getLogger(__name__)

MOUNT_POINT_MODE = 0o700
DEFAULT_TIMEOUT_SECONDS = 120.0
MAX_OUTPUT_BYTES = 64 * 1024
BASE_OPTIONS = (
    "vers=3.1.1",
    "serverino",
    # One TCP connection per mount: a hung share of one client never stalls another's.
    "nosharesock",
    "actimeo=30",
    # Azure Files has no symlinks; this makes any the kernel client meets visible as symlinks.
    "mfsymlinks",
)
FIXED_MODES = ("dir_mode=0700", "file_mode=0600")
_CREDENTIAL_OPTIONS = frozenset(
    {"user", "username", "pass", "password", "password2", "cred", "credentials"}
)
"""Options that would put a credential on the command line or replace the credentials file."""
_INHERITED_VARIABLES = ("PATH",)


def default_runner_env() -> dict[str, str]:
    """Return the environment of mount and umount: PATH and the C locale, nothing else.

    Not even USER or PASSWD of the job pass: mount.cifs would read a password from them.
    """
    values = {name: os.getenv(name) for name in _INHERITED_VARIABLES}
    env = {name: value for name, value in values.items() if value is not None}
    env.setdefault("PATH", os.defpath)
    return {**env, "LC_ALL": "C"}


class CifsMountFileShare(FileShare):
    """A client's Azure Files (or any SMB 3) share, mounted by the kernel at `mount_root/<client>`.

    Args:
        target: the share, its user (`storage-name`) and key (`storage-key`).
        mount_root: `[paths] mount_root`; the mount point `<mount_root>/<client>` is made 0700.
        redactor: learns the storage key and masks the tools' output with it.
        use_sudo: `[share] use_sudo`: run mount and umount through `sudo -n` (never prompts).
        extra_options: `[share] mount_options`, appended to the fixed options (no credentials).
        runner_env: the environment of the mount and umount children
            (default: `default_runner_env()`).
        mountinfo: the mount table to read (tests point it at a file of their own).
        mount_binary: the mount command; umount_binary: the umount command.
        timeout_seconds: how long mount or umount may take before it is killed.
        credentials_dir: where the short-lived credentials file is made (default: temp dir).
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
        self.unc: UncPath = parse_unc(target.unc)
        self.mount_point = mount_root.absolute() / _safe_component(target.client)
        self._user = target.user
        self._key = target.key
        self._redactor = redactor
        self._sudo = ("sudo", "-n") if use_sudo else ()
        self._extra_options = _checked_options(extra_options)
        self._env = dict(runner_env) if runner_env is not None else default_runner_env()
        self._mountinfo = mountinfo
        self._mount_binary = mount_binary
        self._umount_binary = umount_binary
        self._timeout = timeout_seconds
        self._credentials_dir = credentials_dir
        self._files = LocalDirFileShare(self.mount_point)
        self._mounted = False

    def mount(self) -> MountOutcome:
        """Mount the share, or reuse a mount of the same share already on the mount point.

        Raises:
            ShareUnavailableError: mount failed (its stderr, masked, in one line), another share
                is mounted there, or the mounted share is not a writable directory.
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
            self._files.mount()
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

    def make_dirs(self, path: PurePosixPath) -> None:
        """Create a directory and its parents on the mounted share."""
        self._files.make_dirs(path)

    def write_stream(self, path: PurePosixPath, chunks: Iterable[bytes]) -> WriteReceipt:
        """Write `chunks` atomically to `path` on the mounted share."""
        return self._files.write_stream(path, chunks)

    def append_line(self, path: PurePosixPath, line: str) -> None:
        """Append one line to a log file on the mounted share, durably."""
        self._files.append_line(path, line)

    def read_stream(self, path: PurePosixPath) -> Iterator[bytes]:
        """Yield a file of the mounted share in chunks."""
        return self._files.read_stream(path)

    def rename(self, source: PurePosixPath, target: PurePosixPath) -> None:
        """Rename a file or directory on the mounted share; the target must not exist."""
        self._files.rename(source, target)

    def list_dir(self, path: PurePosixPath) -> list[Entry]:
        """List a directory of the mounted share (mfsymlinks show as symlinks)."""
        return self._files.list_dir(path)

    def exists(self, path: PurePosixPath) -> bool:
        """Tell whether anything exists at `path` on the mounted share."""
        return self._files.exists(path)

    def delete_file(self, path: PurePosixPath) -> None:
        """Delete one file (or symlink) on the mounted share."""
        self._files.delete_file(path)

    def delete_tree(self, path: PurePosixPath) -> None:
        """Delete a directory tree on the mounted share without following symlinks."""
        self._files.delete_tree(path)

    def mount_options(self, credentials: Path) -> str:
        """Return the `-o` value: fixed options, the job's uid/gid, credentials, extra options."""
        options = [
            *BASE_OPTIONS,
            f"uid={os.getuid()}",
            f"gid={os.getgid()}",
            *FIXED_MODES,
            f"credentials={credentials}",
        ]
        if self._extra_options:
            options.append(self._extra_options)
        return ",".join(options)

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
            self.mount_point.parent.mkdir(parents=True, exist_ok=True)
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
            self._files.mount()
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

        Output goes to a temporary file, not a pipe: a helper that outlives a killed mount
        (mount.cifs under sudo, say) would hold a pipe open and block the job past its timeout.
        """
        logger.info("running %s", self._redactor.redact(" ".join(argv)))
        with tempfile.TemporaryFile() as output:
            try:
                completed = subprocess.run(
                    list(argv),
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=output,
                    env=self._env,
                    timeout=self._timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                return f"{argv[len(self._sudo)]} did not finish within {self._timeout:g} s"
            except OSError as error:
                return f"cannot run {argv[0]}: {error.strerror or error}"
            if completed.returncode == 0:
                return None
            output.seek(0)
            text = output.read(MAX_OUTPUT_BYTES).decode("utf-8", errors="replace")
        return one_line(text, self._redactor) or f"exit status {completed.returncode}"


def _safe_component(client: str) -> str:
    """Return the client name if it is one plain path component (it names the mount point)."""
    if not client or client in (".", "..") or "/" in client or "\0" in client:
        raise ConfigError("the client name cannot name a mount point")
    return client


def _checked_options(options: str) -> str:
    """Return `[share] mount_options` without blanks, refusing any credential option."""
    cleaned = ",".join(part.strip() for part in options.split(",") if part.strip())
    for part in cleaned.split(","):
        name = part.split("=", 1)[0].strip().lower()
        if name in _CREDENTIAL_OPTIONS:
            raise ConfigError(
                f"[share] mount_options must not set '{name}': credentials come from the client"
                " config through a credentials file"
            )
    if any(character.isspace() for character in cleaned):
        raise ConfigError("[share] mount_options must not contain blanks inside an option")
    return cleaned


def _remove_empty_dir(directory: Path) -> None:
    """Remove the mount point after unmounting, keeping it when anything is (still) in it."""
    try:
        directory.rmdir()
    except OSError as error:
        logger.info("keeping %s: %s", directory, error.strerror)
