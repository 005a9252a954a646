"""Make OpenPGP key pairs and decrypt backups with plain gpg, for tests and the demo.

Decryption deliberately uses nothing of the adapter: a fresh GNUPGHOME, the secret key imported
from its armoured export, `gpg --decrypt`. It proves the backups open with any standard tool.
Passphrases travel through a pipe (`--passphrase-fd`), never on a command line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

GPG = "gpg"
GPGCONF = "gpgconf"
TIMEOUT_SECONDS = 120
MIN_S2K_COUNT = 65536
MAX_SOCKET_DIR_LENGTH = 70
"""gpg-agent's sockets live in the home directory; a Unix socket path holds at most 107 bytes."""


class GpgHelperError(RuntimeError):
    """A gpg command of the test helpers failed."""


@dataclass(frozen=True)
class KeyPair:
    """A generated key pair: both armoured exports, the fingerprint and the keyring holding it."""

    public_armored: bytes
    secret_armored: bytes
    fingerprint: str
    homedir: Path
    passphrase: str | None = None


def _env(homedir: Path) -> dict[str, str]:
    return {
        "PATH": os.defpath,
        "LC_ALL": "C",
        "HOME": str(homedir),
        "GNUPGHOME": str(homedir),
    }


def _home_directory(directory: Path, fast_s2k: bool = True) -> Path:
    """Make a 0700 GNUPGHOME in `directory`, or in /tmp when that path is too long for sockets.

    With `fast_s2k` the agent protects secret keys with the smallest S2K iteration count instead of
    calibrating one (seconds per key): right for throw-away test keys, wrong for real ones.
    """
    directory.mkdir(parents=True, exist_ok=True)
    parent = directory if len(str(directory)) <= MAX_SOCKET_DIR_LENGTH else None
    homedir = Path(tempfile.mkdtemp(prefix="gpg-", dir=parent))
    if fast_s2k:
        (homedir / "gpg-agent.conf").write_text(f"s2k-count {MIN_S2K_COUNT}\n")
    return homedir


def _gpg(
    homedir: Path,
    *args: str,
    stdin: bytes = b"",
    passphrase: str | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run gpg in `homedir`; a passphrase goes through an inherited pipe, never argv."""
    argv = [GPG, "--homedir", str(homedir), "--batch", "--no-tty"]
    pass_fds: tuple[int, ...] = ()
    read_end = write_end = -1
    if passphrase is not None:
        read_end, write_end = os.pipe()
        os.write(write_end, passphrase.encode() + b"\n")
        os.close(write_end)
        pass_fds = (read_end,)
        argv += ["--pinentry-mode", "loopback", "--passphrase-fd", str(read_end)]
    try:
        result = subprocess.run(
            [*argv, *args],
            input=stdin,
            capture_output=True,
            env=_env(homedir),
            pass_fds=pass_fds,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    finally:
        if read_end >= 0:
            os.close(read_end)
    if result.returncode != 0:
        raise GpgHelperError(
            f"gpg {' '.join(args[:2])} failed: {result.stderr.decode(errors='replace')}"
        )
    return result


def stop_agent(homedir: Path) -> None:
    """Stop the gpg-agent (and dirmngr) bound to `homedir`, if any."""
    subprocess.run(
        [GPGCONF, "--homedir", str(homedir), "--kill", "all"],
        capture_output=True,
        env=_env(homedir),
        timeout=TIMEOUT_SECONDS,
        check=False,
    )


def generate_key_pair(
    directory: Path,
    name: str,
    email: str,
    passphrase: str | None,
    expire: str = "0",
    created: str | None = None,
    fast_s2k: bool = True,
) -> KeyPair:
    """Generate an ed25519/cv25519 key pair in a new keyring under `directory`.

    `expire` is gpg's expiry ("0" never, "1d", "2y", ...). `created` ("20200101T000000") fakes
    the creation time, which makes an already expired key in one step. The agent started for the
    generation is stopped before returning; the keyring stays in `homedir`.
    """
    homedir = _home_directory(directory)
    try:
        time_args = ["--faked-system-time", f"{created}!"] if created else []
        user_id = f"{name} <{email}>"
        result = _gpg(
            homedir,
            *time_args,
            "--status-fd",
            "1",
            "--quick-generate-key",
            user_id,
            "future-default",
            "default",
            expire,
            passphrase=passphrase or "",
        )
        fingerprint = next(
            line.split()[-1]
            for line in result.stdout.decode().splitlines()
            if line.startswith("[GNUPG:] KEY_CREATED ")
        )
        public = _gpg(homedir, "--armor", "--export", fingerprint).stdout
        secret = _gpg(
            homedir, "--armor", "--export-secret-keys", fingerprint, passphrase=passphrase or ""
        ).stdout
    finally:
        stop_agent(homedir)
    return KeyPair(public, secret, fingerprint, homedir, passphrase)


def revoked_public_key(pair: KeyPair) -> bytes:
    """Revoke `pair` with the certificate gpg stored for it; return the armoured public key."""
    certificate = pair.homedir / "openpgp-revocs.d" / f"{pair.fingerprint}.rev"
    # gpg prefixes the stored certificate's armour line with ":" against accidental import.
    revocation = certificate.read_bytes().replace(b":-----BEGIN", b"-----BEGIN")
    try:
        _gpg(pair.homedir, "--import", stdin=revocation)
        return _gpg(pair.homedir, "--armor", "--export", pair.fingerprint).stdout
    finally:
        stop_agent(pair.homedir)


def dearmor(armored: bytes, directory: Path) -> bytes:
    """Return the binary form of an armoured OpenPGP block."""
    with _throw_away_home(directory) as homedir:
        return _gpg(homedir, "--dearmor", stdin=armored).stdout


@contextmanager
def _throw_away_home(directory: Path | None = None) -> Iterator[Path]:
    homedir = _home_directory(directory or Path(tempfile.gettempdir()))
    try:
        yield homedir
    finally:
        stop_agent(homedir)
        shutil.rmtree(homedir, ignore_errors=True)


def decrypt(
    secret_key: KeyPair | bytes,
    data: bytes | Path,
    passphrase: str | None = None,
    directory: Path | None = None,
) -> bytes:
    """Decrypt an OpenPGP message with plain gpg and the armoured (or binary) secret key.

    `passphrase` defaults to the key pair's own. A fresh keyring is made in `directory` (the
    system temp directory by default) and removed afterwards, agent included.
    """
    if isinstance(secret_key, KeyPair):
        passphrase = passphrase if passphrase is not None else secret_key.passphrase
        secret_key = secret_key.secret_armored
    with _throw_away_home(directory) as homedir:
        _gpg(homedir, "--import", stdin=secret_key, passphrase=passphrase or "")
        if isinstance(data, Path):
            args, stdin = ["--decrypt", "--output", "-", str(data)], b""
        else:
            args, stdin = ["--decrypt", "--output", "-"], data
        return _gpg(homedir, *args, stdin=stdin, passphrase=passphrase or "").stdout


class PlainKeyring:
    """One private key in a keyring of its own, used through plain gpg commands only.

    Faster than `decrypt` for many files: the key is imported once. `close` stops the agent and
    removes the keyring.
    """

    def __init__(self, pair: KeyPair, directory: Path) -> None:
        self.pair = pair
        self.homedir = _home_directory(directory)
        _gpg(self.homedir, "--import", stdin=pair.secret_armored, passphrase=pair.passphrase or "")

    def decrypt(self, path: Path) -> bytes:
        """Return the plaintext of the OpenPGP file `path`; GpgHelperError when it does not open."""
        args = ["--decrypt", "--output", "-", str(path)]
        return _gpg(self.homedir, *args, passphrase=self.pair.passphrase or "").stdout

    def close(self) -> None:
        """Stop the keyring's agent and remove it."""
        stop_agent(self.homedir)
        shutil.rmtree(self.homedir, ignore_errors=True)


def encrypt(pair: KeyPair, data: bytes, directory: Path | None = None) -> bytes:
    """Encrypt `data` to the pair's public key with plain gpg, as the backup job does."""
    with _throw_away_home(directory) as homedir:
        _gpg(homedir, "--import", stdin=pair.public_armored)
        return _gpg(
            homedir,
            "--encrypt",
            "--trust-model",
            "always",
            "--compress-algo",
            "none",
            "--recipient",
            pair.fingerprint,
            "--output",
            "-",
            stdin=data,
        ).stdout
