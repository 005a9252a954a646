"""Start a real Samba server (smbd) on 127.0.0.1 for the SMB adapter's tests.

Everything lives in one temporary directory: smb.conf, the share's backing directory, and
Samba's pid, lock, state, cache, private and log directories. The SMB user is a Unix account
(`lts-smb`, created with useradd when missing, which needs root). smbd listens on a free high
port and is stopped (its whole process group) at the end of the session. Tests are skipped
with the reason when smbd is not installed (`apt-get install samba`) or the user cannot exist.

Symlinks: the conf sets `follow symlinks = no`, `wide links = no` and `unix extensions = no`.
Samba 4.17 then neither lists nor opens a Unix symlink of the backing directory (so it is never
followed, and a directory holding one cannot be removed over SMB), and it has no way to show it
as a reparse point. The symlinks Azure Files holds are mfsymlink files (`XSym`), which
`mfsymlink_content` builds.

Use the session fixture `samba_server` (import it into a conftest or test module); every test
takes a fresh folder of the one share with `SambaServer.fresh_folder()`.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SMB_USER = "lts-smb"
SHARE_NAME = "backups"
FULL_SHARE_NAME = "full"
"""A second share whose directory a test may cover with a tiny tmpfs, to fill it up."""
HOST = "127.0.0.1"
START_TIMEOUT_SECONDS = 20.0
MFSYMLINK_SIZE = 1067

SMB_CONF = """\
[global]
  server role = standalone server
  interfaces = {host}
  bind interfaces only = yes
  smb ports = {port}
  disable netbios = yes
  server min protocol = SMB3
  pid directory = {state}
  lock directory = {state}
  state directory = {state}
  cache directory = {state}
  private dir = {state}
  ncalrpc dir = {state}/ncalrpc
  passdb backend = tdbsam:{state}/passdb.tdb
  log file = {base}/smbd.log
  log level = 1
  load printers = no
  printing = bsd
  printcap name = /dev/null
  disable spoolss = yes
  # Predictable links: never followed, never shown (see the module docstring).
  follow symlinks = no
  wide links = no
  unix extensions = no
  map archive = no

[{share}]
  path = {share_path}
  read only = no
  valid users = {user}
  create mask = 0600
  directory mask = 0700

[{full_share}]
  path = {full_path}
  read only = no
  valid users = {user}
"""


@dataclass
class SambaServer:
    """A running smbd with one share, one user, and the backing directory of that share."""

    port: int
    user: str
    password: str
    base: Path
    share_path: Path
    process: subprocess.Popen[bytes]
    host: str = HOST
    share: str = SHARE_NAME
    _uid_gid: tuple[int, int] = field(default=(0, 0))

    @property
    def unc(self) -> str:
        """Return `//127.0.0.1/backups`."""
        return f"//{self.host}/{self.share}"

    @property
    def full_path(self) -> Path:
        """Return the directory of the `full` share (mount a small tmpfs on it to fill it)."""
        return self.base / FULL_SHARE_NAME

    @property
    def uid_gid(self) -> tuple[int, int]:
        """Return the uid and gid of the SMB user's Unix account."""
        return self._uid_gid

    def fresh_folder(self) -> tuple[str, Path]:
        """Create an empty folder in the share; return its UNC and its backing directory."""
        name = f"t-{secrets.token_hex(6)}"
        backing = self.share_path / name
        backing.mkdir(mode=0o700)
        os.chown(backing, *self._uid_gid)
        return f"{self.unc}/{name}", backing

    def stop(self) -> None:
        """Stop smbd and every child it forked, then remove the temporary directory."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        shutil.rmtree(self.base, ignore_errors=True)


def mfsymlink_content(target: str) -> bytes:
    """Return an mfsymlink file pointing at `target`, as Linux cifs (`mfsymlinks`) writes it."""
    encoded = target.encode()
    digest = hashlib.md5(encoded).hexdigest().encode()  # noqa: S324 - the format's checksum
    body = b"XSym\n%04d\n%s\n%s\n" % (len(encoded), digest, encoded)
    return body.ljust(MFSYMLINK_SIZE, b" ")


def unavailable_reason() -> str | None:
    """Return why a Samba server cannot be started here, or None when it can."""
    for tool in ("smbd", "smbpasswd"):
        if shutil.which(tool) is None and not Path("/usr/sbin", tool).exists():
            return f"{tool} is not installed (apt-get install samba)"
    try:
        pwd.getpwnam(SMB_USER)
    except KeyError:
        if os.geteuid() != 0:
            return f"the Unix user {SMB_USER} is missing and only root can create it"
    if os.geteuid() != 0:
        return "smbd must run as root to switch to the SMB user"
    return None


def start_samba_server() -> SambaServer:
    """Start smbd on a free port with a fresh share and user; wait until it accepts connections."""
    _ensure_user()
    entry = pwd.getpwnam(SMB_USER)
    base = Path(tempfile.mkdtemp(prefix="lts-samba-"))
    # The SMB user must traverse to the share (mkdtemp makes 0700 directories).
    base.chmod(0o755)
    state = base / "state"
    state.mkdir()
    share_path = base / "share"
    share_path.mkdir(mode=0o700)
    os.chown(share_path, entry.pw_uid, entry.pw_gid)
    (base / FULL_SHARE_NAME).mkdir(mode=0o755)
    port = _free_port()
    config = base / "smb.conf"
    config.write_text(
        SMB_CONF.format(
            host=HOST,
            port=port,
            state=state,
            base=base,
            share=SHARE_NAME,
            share_path=share_path,
            full_share=FULL_SHARE_NAME,
            full_path=base / FULL_SHARE_NAME,
            user=SMB_USER,
        )
    )
    password = f"Pw-{secrets.token_urlsafe(18)}"
    subprocess.run(
        [_tool("smbpasswd"), "-c", str(config), "-a", "-s", SMB_USER],
        input=f"{password}\n{password}\n".encode(),
        capture_output=True,
        check=True,
    )
    log = (base / "smbd.out").open("wb")
    process = subprocess.Popen(
        [_tool("smbd"), "--foreground", "--no-process-group", "--debug-stdout", "-s", str(config)],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        # A session of its own, so stop() can signal smbd and the children it forks at once.
        start_new_session=True,
    )
    log.close()
    server = SambaServer(
        port=port,
        user=SMB_USER,
        password=password,
        base=base,
        share_path=share_path,
        process=process,
        _uid_gid=(entry.pw_uid, entry.pw_gid),
    )
    try:
        _wait_for_port(server)
    except BaseException:
        server.stop()
        raise
    return server


class _Shared:
    """One server per test process, however many modules import the fixture."""

    server: SambaServer | None = None
    users = 0


@pytest.fixture(scope="session")
def samba_server() -> Iterator[SambaServer]:
    """Start (or share) the session's Samba server; skip when Samba cannot run here."""
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    if _Shared.server is None:
        _Shared.server = start_samba_server()
    _Shared.users += 1
    try:
        yield _Shared.server
    finally:
        _Shared.users -= 1
        if _Shared.users == 0:
            _Shared.server.stop()
            _Shared.server = None


def _ensure_user() -> None:
    try:
        pwd.getpwnam(SMB_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SMB_USER,
            ],
            check=True,
            capture_output=True,
        )


def _tool(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _wait_for_port(server: SambaServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            output = (server.base / "smbd.out").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"smbd exited with {server.process.returncode}: {output}")
        try:
            with socket.create_connection((server.host, server.port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"smbd did not listen on {server.host}:{server.port} in time")
