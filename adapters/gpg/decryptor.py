"""GpgDecryptor: OpenPGP decryption with a client's private key through the `gpg` binary.

SPEC section 9. The private key is imported into a throw-away GNUPGHOME (mode 0700) under the
work root, never the user's keyring, and the directory is removed by `dispose` after gpg-agent,
which holds secret keys, is stopped. The passphrase goes to gpg once, through loopback pinentry
on a pipe (`--passphrase-fd`): never on a command line, in an environment or a file. That one
unlock decrypts a probe message; the throw-away agent then keeps the unlocked key in memory for
the job's later decryptions (`--pinentry-mode error`, so gpg never waits for a pinentry).
Tested against the real gpg in tests/integration/test_restore_jobs.py.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Generator, Iterable, Iterator
from pathlib import Path

from pydantic import SecretStr

from adapters.gpg.keyring import COMMAND_TIMEOUT_SECONDS, ThrowAwayKeyring, one_line
from adapters.gpg.listing import parse_listing
from adapters.gpg.stream import filter_through
from domain.models.redaction import Redactor
from ports.decryptor import DecryptionError, Decryptor, KeyInfo
from ports.errors import EncryptionError

DEFAULT_CHUNK_SIZE = 1024 * 1024
AGENT_CACHE_SECONDS = 30 * 24 * 3600
"""The throw-away agent lives only as long as the job; its cache must not expire before it."""
PROBE = b"long-term-storage passphrase probe\n"
_BAD_PASSPHRASE = ("Bad passphrase", "No pinentry", "Operation cancelled")


class SecretKeyring(ThrowAwayKeyring):
    """A throw-away GNUPGHOME whose gpg-agent may start, to hold one private key."""

    def __init__(self, work_root: Path, redactor: Redactor, gpg_binary: str = "gpg") -> None:
        super().__init__(work_root, redactor, gpg_binary)
        (self.homedir / "gpg-agent.conf").write_text(
            f"default-cache-ttl {AGENT_CACHE_SECONDS}\nmax-cache-ttl {AGENT_CACHE_SECONDS}\n"
        )

    def argv(self, *args: str) -> list[str]:
        """Return a gpg command line bound to this keyring; the agent may start (secret keys)."""
        return [
            self.gpg,
            "--homedir",
            str(self.homedir),
            "--no-options",
            "--batch",
            "--no-tty",
            "--no-auto-key-locate",
            "--no-auto-key-retrieve",
            *args,
        ]

    def run_unlocking(
        self, passphrase: SecretStr, *args: str, stdin: bytes
    ) -> subprocess.CompletedProcess[bytes]:
        """Run gpg with the passphrase on an inherited pipe (loopback pinentry)."""
        read_end, write_end = os.pipe()
        try:
            # A passphrase is far smaller than a pipe's buffer: this write never blocks.
            os.write(write_end, passphrase.get_secret_value().encode() + b"\n")
            os.close(write_end)
            write_end = -1
            argv = self.argv("--pinentry-mode", "loopback", "--passphrase-fd", str(read_end))
            return subprocess.run(
                [*argv, *args],
                input=stdin,
                capture_output=True,
                env=self.child_env,
                pass_fds=(read_end,),
                timeout=COMMAND_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise DecryptionError("gpg timed out unlocking the private key") from None
        except OSError as error:
            raise DecryptionError(f"gpg could not be started: {error.strerror}") from None
        finally:
            os.close(read_end)
            if write_end >= 0:
                os.close(write_end)


class GpgDecryptor(Decryptor):
    """Decrypt streams with one client's private key, held in a throw-away keyring."""

    def __init__(
        self,
        work_root: Path,
        redactor: Redactor,
        gpg_binary: str = "gpg",
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        self._work_root = work_root
        self._redactor = redactor
        self._gpg_binary = gpg_binary
        self._chunk_size = chunk_size
        self._keyring: SecretKeyring | None = None

    @property
    def homedir(self) -> Path | None:
        """Return the current throw-away GNUPGHOME, if one exists."""
        return self._keyring.homedir if self._keyring else None

    def load_key(self, private_key: bytes, passphrase: SecretStr) -> KeyInfo:
        """Import the private key and prove that `passphrase` unlocks it.

        Raises:
            DecryptionError: the key is not one OpenPGP secret key, or the passphrase is wrong.
        """
        self.dispose()
        self._redactor.add(passphrase)
        try:
            keyring = SecretKeyring(self._work_root, self._redactor, self._gpg_binary)
        except EncryptionError as exc:
            raise DecryptionError(str(exc)) from None
        except OSError as exc:
            raise DecryptionError(
                f"cannot make a keyring under {self._work_root}: {exc.strerror}"
            ) from None
        self._keyring = keyring
        try:
            info = self._import(keyring, private_key)
            self._unlock(keyring, info, passphrase)
        except BaseException:
            self.dispose()
            raise
        return info

    def decrypt(self, cipher: Iterator[bytes] | Iterable[bytes]) -> Generator[bytes, None, None]:
        """Yield the plaintext of the OpenPGP message `cipher`, streaming."""
        keyring = self._keyring
        if keyring is None:
            raise DecryptionError("no private key loaded: load_key must run before decrypt")
        argv = keyring.argv("--pinentry-mode", "error", "--decrypt", "--output", "-")

        def failure(returncode: int, stderr: bytes) -> DecryptionError:
            return DecryptionError(
                f"gpg failed to decrypt (exit {returncode}): {one_line(stderr, self._redactor)}"
            )

        yield from filter_through(argv, keyring.child_env, cipher, self._chunk_size, failure)

    def dispose(self) -> None:
        """Stop the keyring's agent and remove the keyring; safe to call twice."""
        keyring, self._keyring = self._keyring, None
        if keyring is not None:
            keyring.dispose()

    def _import(self, keyring: SecretKeyring, private_key: bytes) -> KeyInfo:
        shown = keyring.run("--with-colons", "--fixed-list-mode", "--show-keys", stdin=private_key)
        keys = parse_listing(shown.stdout.decode("utf-8", errors="replace"))
        if shown.returncode != 0 or not keys:
            raise DecryptionError(
                f"private-key is not a valid OpenPGP key: {one_line(shown.stderr, self._redactor)}"
            )
        if len(keys) != 1:
            raise DecryptionError(f"private-key holds {len(keys)} primary keys; give exactly one")
        key = keys[0]
        if not key.holds_secret:
            raise DecryptionError(
                f"private-key (fingerprint {key.fingerprint}) holds no secret key material; "
                "give the secret key (gpg --export-secret-keys --armor KEY)"
            )
        imported = keyring.run("--import", stdin=private_key)
        if imported.returncode != 0:
            raise DecryptionError(
                f"gpg could not import private-key: {one_line(imported.stderr, self._redactor)}"
            )
        return KeyInfo(key.fingerprint, key.valid_user_ids)

    def _unlock(self, keyring: SecretKeyring, info: KeyInfo, passphrase: SecretStr) -> None:
        # Encrypting to the key "at" its newest (sub)key's creation time also works for a key
        # that has expired since: old backups must still open.
        listed = keyring.run("--with-colons", "--fixed-list-mode", "--list-keys", info.fingerprint)
        created = _newest_creation(listed.stdout.decode("utf-8", errors="replace"))
        time_args = ["--faked-system-time", f"{created + 1}!"] if created else []
        probe = keyring.run(
            *time_args,
            "--trust-model",
            "always",
            "--encrypt",
            "--recipient",
            info.fingerprint,
            "--output",
            "-",
            stdin=PROBE,
        )
        if probe.returncode != 0:
            raise DecryptionError(
                f"the private key (fingerprint {info.fingerprint}) has no usable encryption "
                f"subkey: {one_line(probe.stderr, self._redactor)}"
            )
        result = keyring.run_unlocking(passphrase, "--decrypt", "--output", "-", stdin=probe.stdout)
        if result.returncode == 0 and result.stdout == PROBE:
            return
        stderr = result.stderr.decode("utf-8", errors="replace")
        if any(marker in stderr for marker in _BAD_PASSPHRASE):
            raise DecryptionError(
                "private-key-passphrase does not unlock the private key "
                f"(fingerprint {info.fingerprint})"
            )
        raise DecryptionError(
            f"the private key (fingerprint {info.fingerprint}) cannot decrypt: "
            f"{one_line(stderr, self._redactor)}"
        )


def _newest_creation(listing: str) -> int:
    """Return the newest creation time (epoch seconds) of a key and its subkeys in a listing."""
    times = [
        int(fields[5])
        for fields in (line.split(":") for line in listing.splitlines())
        if fields[0] in ("pub", "sub") and len(fields) > 5 and fields[5].isdigit()
    ]
    return max(times, default=0)
