"""A throw-away GnuPG home directory holding only the public keys of one run.

The directory `gnupg-<random>` (mode 0700 whatever the umask) is made under the job's work root,
claimed first in the job's leftovers (adapters/process/leftovers.py), so that a later job removes
it, and stops its agent, should this job be killed. The user's own keyring (`~/.gnupg`,
`$GNUPGHOME`) is never read or written, because every gpg child gets `--homedir` and an
environment of its own. gpg runs with `--no-autostart`, so no gpg-agent or dirmngr is started;
`dispose` still stops one if something started it, then removes the directory and releases the
claim. `dispose_keyring_home` does the same for a home a killed job left (the sweep's disposer).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from adapters.gpg.listing import KeyListing, parse_listing
from adapters.process import ChildError, Completed, one_line, run_command
from adapters.process.leftovers import KEYRING, Claim, Leftovers
from domain.models.redaction import Redactor
from ports.errors import EncryptionError

COMMAND_TIMEOUT_SECONDS = 120

logger = logging.getLogger("lts.gpg")


@dataclass(frozen=True, slots=True)
class ImportedKey:
    """A public key now in the keyring: fingerprint, non-revoked user ids, encryption expiry."""

    fingerprint: str
    user_ids: tuple[str, ...]
    expires: datetime | None = None


def diagnostics(stderr: bytes | str, redactor: Redactor) -> str:
    """Return gpg's diagnostics as one masked, bounded line ("no diagnostics" when silent)."""
    return one_line(stderr, redactor) or "no diagnostics"


def imported_fingerprints(status: bytes) -> list[str]:
    """Return the fingerprints of the IMPORT_OK lines of `gpg --status-fd 1 --import` output."""
    return [
        line.split()[3]
        for line in status.decode("utf-8", errors="replace").splitlines()
        if line.startswith("[GNUPG:] IMPORT_OK ") and len(line.split()) >= 4
    ]


HOME_PREFIX = "gnupg-"
HOME_DIR_MODE = 0o700
REMOVE_ATTEMPTS = 40
REMOVE_PAUSE_SECONDS = 0.05


def home_env(homedir: Path) -> dict[str, str]:
    """Return the environment of a gpg child bound to `homedir`: nothing of the job's own."""
    return {
        "PATH": os.defpath,
        "LC_ALL": "C",
        "LANG": "C",
        # Pointing HOME at the throw-away directory too keeps even a stray default in it.
        "HOME": str(homedir),
        "GNUPGHOME": str(homedir),
    }


def stop_agents(gpgconf: str | None, homedir: Path) -> None:
    """Stop every daemon (gpg-agent, dirmngr) bound to `homedir`; best effort."""
    if gpgconf is None or not _agent_may_run(homedir):
        return
    # The directory goes anyway; with it go the sockets, and an agent whose socket is gone ends
    # within a minute on its own. gpgconf ends it now.
    with contextlib.suppress(ChildError):
        run_command(
            [gpgconf, "--homedir", str(homedir), "--kill", "all"],
            env=home_env(homedir),
            timeout=COMMAND_TIMEOUT_SECONDS,
        )


def dispose_keyring_home(homedir: Path) -> None:
    """Stop the agent of a keyring a killed job left and remove it (the leftovers' disposer).

    Raises:
        OSError: the directory cannot be removed (the sweep then keeps its claim).
    """
    if homedir.is_symlink():
        homedir.unlink()
        return
    if not homedir.is_dir():
        return
    stop_agents(shutil.which("gpgconf"), homedir)
    remove_home(homedir)


def remove_home(homedir: Path) -> None:
    """Remove a home directory whose agent was just told to stop.

    `gpgconf --kill` returns before the agent has ended, and the agent removes its sockets as it
    ends: a removal racing with it finds files vanishing under it (or a file just written). It is
    retried for a moment.

    Raises:
        OSError: the directory is still there after the retries.
    """
    for _ in range(REMOVE_ATTEMPTS):
        with contextlib.suppress(OSError):
            shutil.rmtree(homedir)
        if not homedir.exists():
            return
        time.sleep(REMOVE_PAUSE_SECONDS)
    raise OSError(f"{homedir} could not be removed (its gpg-agent may still run)")


def _agent_may_run(homedir: Path) -> bool:
    # Sockets live in the home directory, or under /run/user/<uid>/gnupg when that exists.
    run_dir = Path(f"/run/user/{os.getuid()}/gnupg")
    return any(homedir.glob("S.*")) or run_dir.is_dir()


def _make_home(work_root: Path, leftovers: Leftovers) -> tuple[Path, Claim]:
    """Claim and make a new `gnupg-<random>` directory (0700) under `work_root`."""
    while True:
        # Eight characters as mkdtemp's: a longer path would overflow the agent's socket names.
        homedir = work_root / f"{HOME_PREFIX}{secrets.token_hex(4)}"
        claim = leftovers.claim(KEYRING, homedir)
        try:
            homedir.mkdir(mode=HOME_DIR_MODE)
        except FileExistsError:
            claim.release()
            continue
        except BaseException:
            claim.release()
            raise
        homedir.chmod(HOME_DIR_MODE)
        return homedir, claim


class ThrowAwayKeyring:
    """A private GNUPGHOME under `work_root` and the gpg commands that run against it."""

    AGENT_OPTIONS: tuple[str, ...] = ("--no-autostart",)
    """A keyring of public keys needs no gpg-agent; SecretKeyring lets one start."""

    def __init__(
        self,
        work_root: Path,
        redactor: Redactor,
        gpg_binary: str = "gpg",
        leftovers: Leftovers | None = None,
    ) -> None:
        self._redactor = redactor
        self.gpg = self._resolve(gpg_binary)
        self.homedir, self._claim = _make_home(work_root, leftovers or Leftovers(work_root))
        self._disposed = False

    @staticmethod
    def _resolve(gpg_binary: str) -> str:
        found = shutil.which(gpg_binary)
        if found is None:
            raise EncryptionError(f"the gpg binary {gpg_binary!r} was not found")
        return found

    @property
    def child_env(self) -> dict[str, str]:
        """Return the environment of every gpg child: nothing of the job's own environment."""
        return home_env(self.homedir)

    def argv(self, *args: str) -> list[str]:
        """Return a gpg command line bound to this keyring, non-interactive (AGENT_OPTIONS)."""
        return [
            self.gpg,
            "--homedir",
            str(self.homedir),
            "--no-options",
            "--batch",
            "--no-tty",
            *self.AGENT_OPTIONS,
            "--no-auto-key-locate",
            "--no-auto-key-retrieve",
            *args,
        ]

    def run(self, *args: str, stdin: bytes = b"") -> Completed:
        """Run gpg to completion with `stdin` as input; never raises on a non-zero exit.

        Raises:
            EncryptionError: gpg cannot start or does not finish in time.
        """
        try:
            return run_command(
                self.argv(*args), env=self.child_env, timeout=COMMAND_TIMEOUT_SECONDS, stdin=stdin
            )
        except ChildError as error:
            raise EncryptionError(f"gpg {args[-1]}: {error}") from None

    def show_keys(self, data: bytes, refused: Callable[[str], Exception]) -> list[KeyListing]:
        """List the keys in `data` without importing them.

        Raises:
            Exception: `refused(gpg's diagnostics)` when gpg lists no key.
        """
        result = self.run("--with-colons", "--fixed-list-mode", "--show-keys", stdin=data)
        keys = parse_listing(result.stdout.decode("utf-8", errors="replace"))
        if result.returncode != 0 or not keys:
            raise refused(diagnostics(result.stderr, self._redactor))
        return keys

    def import_keys(self, data: bytes, refused: Callable[[str], Exception]) -> None:
        """Import the keys in `data`.

        Raises:
            Exception: `refused(gpg's diagnostics)` when gpg cannot import them.
        """
        result = self.run("--import", stdin=data)
        if result.returncode != 0:
            raise refused(diagnostics(result.stderr, self._redactor))

    def import_public_key(self, data: bytes, what: str) -> ImportedKey:
        """Check that `data` holds exactly one public key usable for encryption, and import it.

        `what` names the key in error messages ("the public key", "the escrow key").
        """
        listed = self._inspect(data, what)
        result = self.run("--status-fd", "1", "--import", stdin=data)
        imported = {fingerprint.upper() for fingerprint in imported_fingerprints(result.stdout)}
        if result.returncode != 0 or listed.fingerprint not in imported:
            raise EncryptionError(
                f"gpg could not import {what}: {diagnostics(result.stderr, self._redactor)}"
            )
        key = self._list(listed.fingerprint, what)
        if not key.can_encrypt:
            raise EncryptionError(f"{what} (fingerprint {key.fingerprint}) {_unusable(key)}")
        expires = key.encryption_expires
        return ImportedKey(
            key.fingerprint,
            key.valid_user_ids,
            None if expires is None else datetime.fromtimestamp(expires, UTC),
        )

    def _inspect(self, data: bytes, what: str) -> KeyListing:
        """List the keys in `data` without importing them and refuse anything but one public key."""
        keys = self.show_keys(
            data,
            lambda reason: EncryptionError(f"{what} is not a valid OpenPGP public key: {reason}"),
        )
        if any(key.holds_secret for key in keys):
            raise EncryptionError(
                f"{what} holds secret key material; give the public key only "
                "(gpg --export --armor KEY)"
            )
        if len(keys) > 1:
            fingerprints = ", ".join(key.fingerprint for key in keys)
            raise EncryptionError(
                f"{what} holds {len(keys)} primary keys ({fingerprints}); give exactly one"
            )
        return keys[0]

    def _list(self, fingerprint: str, what: str) -> KeyListing:
        result = self.run("--with-colons", "--fixed-list-mode", "--list-keys", fingerprint)
        listing = result.stdout.decode("utf-8", errors="replace")
        keys = [key for key in parse_listing(listing) if key.fingerprint]
        if result.returncode != 0 or len(keys) != 1:
            reason = diagnostics(result.stderr, self._redactor)
            raise EncryptionError(f"gpg cannot list {what} after importing it: {reason}")
        return keys[0]

    def dispose(self) -> None:
        """Stop any agent bound to the directory and remove it; safe to call twice."""
        if self._disposed:
            return
        self._disposed = True
        beside = Path(self.gpg).with_name("gpgconf")
        stop_agents(str(beside) if beside.exists() else shutil.which("gpgconf"), self.homedir)
        try:
            remove_home(self.homedir)
        except OSError:
            # The claim stays: the job's last guard, or the next job's sweep, tries again.
            logger.warning("cannot remove the keyring %s yet", self.homedir)
            return
        self._claim.release()


def _unusable(key: KeyListing) -> str:
    if key.validity == "e":
        return "has expired"
    if key.validity == "r":
        return "is revoked"
    if key.validity in {"i", "d"}:
        return "is invalid or disabled"
    return "has no valid encryption (sub)key (expired, revoked or missing)"
