"""A throw-away GnuPG home directory holding only the public keys of one run.

The directory is made with `tempfile.mkdtemp` (mode 0700) under the job's work root; the user's
own keyring (`~/.gnupg`, `$GNUPGHOME`) is never read or written, because every gpg child gets
`--homedir` and an environment of its own. gpg runs with `--no-autostart`, so no gpg-agent or
dirmngr is started; `dispose` still stops one if something started it, then removes the directory.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from adapters.gpg.listing import KeyListing, parse_listing
from adapters.process import ChildError, Completed, one_line, run_command
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


STALE_HOME_SECONDS = 24 * 3600
"""A throw-away home this old was left by a killed job (no job runs a day in one keyring)."""


def sweep_stale_homes(
    work_root: Path, now: float, *, keep: Path, max_age: float = STALE_HOME_SECONDS
) -> None:
    """Remove `gnupg-*` homes that killed jobs left under `work_root` (they may hold keys)."""
    for home in work_root.glob("gnupg-*"):
        if home == keep:
            continue
        try:
            stale = home.is_dir() and not home.is_symlink() and now - home.stat().st_mtime > max_age
        except OSError:
            continue
        if stale:
            logger.info("removing the stale keyring %s left by a killed job", home)
            shutil.rmtree(home, ignore_errors=True)


class ThrowAwayKeyring:
    """A private GNUPGHOME under `work_root` and the gpg commands that run against it."""

    def __init__(self, work_root: Path, redactor: Redactor, gpg_binary: str = "gpg") -> None:
        self._redactor = redactor
        self.gpg = self._resolve(gpg_binary)
        work_root.mkdir(parents=True, exist_ok=True)
        self.homedir = Path(tempfile.mkdtemp(prefix="gnupg-", dir=work_root))
        # Ages are measured against the new home's own mtime: the file system's clock, which is
        # the one that stamped the others (the process clock may differ, as under faketime).
        sweep_stale_homes(work_root, self.homedir.stat().st_mtime, keep=self.homedir)
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
        return {
            "PATH": os.defpath,
            "LC_ALL": "C",
            "LANG": "C",
            # Pointing HOME at the throw-away directory too keeps even a stray default in it.
            "HOME": str(self.homedir),
            "GNUPGHOME": str(self.homedir),
        }

    def argv(self, *args: str) -> list[str]:
        """Return a gpg command line bound to this keyring, non-interactive, starting no agent."""
        return [
            self.gpg,
            "--homedir",
            str(self.homedir),
            "--no-options",
            "--batch",
            "--no-tty",
            "--no-autostart",
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

    def import_public_key(self, data: bytes, what: str) -> ImportedKey:
        """Check that `data` holds exactly one public key usable for encryption, and import it.

        `what` names the key in error messages ("the public key", "the escrow key").
        """
        listed = self._inspect(data, what)
        result = self.run("--status-fd", "1", "--import", stdin=data)
        imported = {
            line.split()[3].upper()
            for line in result.stdout.decode("utf-8", errors="replace").splitlines()
            if line.startswith("[GNUPG:] IMPORT_OK ") and len(line.split()) >= 4
        }
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
        result = self.run("--with-colons", "--fixed-list-mode", "--show-keys", stdin=data)
        keys = parse_listing(result.stdout.decode("utf-8", errors="replace"))
        if result.returncode != 0 or not keys:
            reason = diagnostics(result.stderr, self._redactor)
            raise EncryptionError(f"{what} is not a valid OpenPGP public key: {reason}")
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
        if self._agent_may_run():
            gpgconf = Path(self.gpg).with_name("gpgconf")
            if gpgconf.exists():
                # Best effort: the directory goes anyway, and with it the agent's sockets.
                with contextlib.suppress(ChildError):
                    run_command(
                        [str(gpgconf), "--homedir", str(self.homedir), "--kill", "all"],
                        env=self.child_env,
                        timeout=COMMAND_TIMEOUT_SECONDS,
                    )
        shutil.rmtree(self.homedir, ignore_errors=True)

    def _agent_may_run(self) -> bool:
        # Sockets live in the home directory, or under /run/user/<uid>/gnupg when that exists.
        run_dir = Path(f"/run/user/{os.getuid()}/gnupg")
        return any(self.homedir.glob("S.*")) or run_dir.is_dir()


def _unusable(key: KeyListing) -> str:
    if key.validity == "e":
        return "has expired"
    if key.validity == "r":
        return "is revoked"
    if key.validity in {"i", "d"}:
        return "is invalid or disabled"
    return "has no valid encryption (sub)key (expired, revoked or missing)"
