"""GpgDecryptor: OpenPGP decryption with a client's private key through the `gpg` binary.

SPEC section 9. `load` imports the private key into a throw-away GNUPGHOME (mode 0700) under the
work root, never the user's keyring, and returns GpgDecryptionKeys, which own it: `close` stops
gpg-agent, which holds secret keys, and removes the directory. The passphrase goes to gpg through
loopback pinentry on a pipe, never on a command line, in an environment or a file: once to prove
it unlocks the key (a probe message, `--passphrase-fd` on a pipe of its own), then to every
decrypting gpg as the first line of its standard input (`--passphrase-fd 0`: gpg reads that line
a byte at a time, and the message after it). The agent caches nothing (cache TTL 0, SPEC 15): a
key is unlocked only for the one operation that needs it, so an agent or keyring that a killed
job left behind decrypts nothing without the passphrase.
Tested against the real gpg in tests/integration/test_restore_jobs.py and
tests/contract/test_decryptor.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from pydantic import SecretStr

from adapters.gpg.handles import KeyringHandle, OpenHandles, disposed_on_failure
from adapters.gpg.keyring import COMMAND_TIMEOUT_SECONDS, ThrowAwayKeyring, diagnostics
from adapters.gpg.keyset import load_key_set
from adapters.process import (
    CHUNK_SIZE,
    ChildError,
    Completed,
    ProcessStream,
    Stage,
    close_source,
    failed_to,
    run_command,
    stream_through,
)
from adapters.process.leftovers import Leftovers
from domain.models.redaction import Redactor
from domain.models.restore_config import KeyPassphrases
from ports.decryptor import DecryptionKeys, Decryptor, KeyInfo
from ports.errors import DecryptionError, EncryptionError

DEFAULT_CHUNK_SIZE = CHUNK_SIZE
AGENT_CACHE_SECONDS = 0
"""The agent unlocks a key for one operation and forgets the passphrase at once: a killed job's
agent must not decrypt for anyone (issue 12 found a 30-day cache doing so)."""
PROBE = b"long-term-storage passphrase probe\n"
AGENT_SOCKET_LONGEST = "S.gpg-agent.browser"
MAX_SOCKET_PATH = 107
"""A Unix socket's name holds 108 bytes with its final NUL."""
_BAD_PASSPHRASE = ("Bad passphrase", "No pinentry", "Operation cancelled")


class SecretKeyring(ThrowAwayKeyring):
    """A throw-away GNUPGHOME whose gpg-agent may start, to hold one private key."""

    AGENT_OPTIONS = ()
    """Secret keys are used through gpg-agent: gpg may start it."""

    def __init__(
        self,
        work_root: Path,
        redactor: Redactor,
        gpg_binary: str = "gpg",
        leftovers: Leftovers | None = None,
    ) -> None:
        super().__init__(work_root, redactor, gpg_binary, leftovers)
        self._check_socket_room(work_root)
        (self.homedir / "gpg-agent.conf").write_text(
            f"default-cache-ttl {AGENT_CACHE_SECONDS}\nmax-cache-ttl {AGENT_CACHE_SECONDS}\n"
        )

    def _check_socket_room(self, work_root: Path) -> None:
        """Refuse a home whose agent sockets would not fit a Unix socket name (107 bytes).

        gpg-agent puts its sockets in the home directory unless /run/user/<uid> exists; with a
        long work root it cannot start, and gpg says only "General error".
        """
        if Path(f"/run/user/{os.getuid()}").is_dir():
            return
        longest = self.homedir / AGENT_SOCKET_LONGEST
        if len(os.fsencode(longest)) > MAX_SOCKET_PATH:
            self.dispose()
            raise EncryptionError(
                f"the work root {work_root} is too long for gpg-agent's sockets "
                f"({len(os.fsencode(longest))} bytes for {longest.name}, at most "
                f"{MAX_SOCKET_PATH}); set a shorter [paths] work_root"
            )

    def run_unlocking(self, passphrase: SecretStr, *args: str, stdin: bytes) -> Completed:
        """Run gpg with the passphrase on an inherited pipe (loopback pinentry).

        Raises:
            DecryptionError: gpg cannot start or does not finish in time.
        """
        read_end, write_end = os.pipe()
        try:
            # A passphrase is far smaller than a pipe's buffer: this write never blocks.
            os.write(write_end, passphrase.get_secret_value().encode() + b"\n")
            os.close(write_end)
            write_end = -1
            argv = self.argv("--pinentry-mode", "loopback", "--passphrase-fd", str(read_end))
            return run_command(
                [*argv, *args],
                env=self.child_env,
                timeout=COMMAND_TIMEOUT_SECONDS,
                stdin=stdin,
                pass_fds=(read_end,),
            )
        except ChildError as error:
            raise DecryptionError(f"gpg could not unlock the private key: {error}") from None
        finally:
            os.close(read_end)
            if write_end >= 0:
                os.close(write_end)


_decrypt_failed = failed_to(DecryptionError, "gpg", "decrypt")


class GpgDecryptionKeys(KeyringHandle[SecretKeyring], DecryptionKeys):
    """A private key unlocked in a throw-away keyring: decrypt streams with it until `close`."""

    def __init__(
        self,
        keyring: SecretKeyring,
        info: KeyInfo,
        redactor: Redactor,
        chunk_size: int,
        on_close: Callable[[GpgDecryptionKeys], None] = lambda _: None,
        passphrase: SecretStr | None = None,
    ) -> None:
        super().__init__(keyring, on_close)
        self._info = info
        self._passphrase = passphrase or SecretStr("")
        self._redactor = redactor
        self._chunk_size = chunk_size

    @property
    def info(self) -> KeyInfo:
        """Return the loaded key's fingerprint and user ids."""
        return self._info

    def decrypt(self, cipher: Iterable[bytes]) -> ProcessStream:
        """Return the stream of the plaintext of the OpenPGP message `cipher`."""
        if self._closed:
            close_source(cipher)
            raise DecryptionError("the private key was closed")
        argv = self._keyring.argv(
            "--pinentry-mode", "loopback", "--passphrase-fd", "0", "--decrypt", "--output", "-"
        )
        stage = Stage(argv, self._keyring.child_env, "gpg", _decrypt_failed, self._redactor)
        fed = _after_passphrase(self._passphrase, cipher)
        return stream_through(fed, stage, chunk_size=self._chunk_size)


class GpgDecryptor(Decryptor):
    """Load a client's private key into a throw-away keyring.

    The decryptor only remembers which loaded keys are still open, for `close_all`.
    """

    def __init__(
        self,
        work_root: Path,
        redactor: Redactor,
        gpg_binary: str = "gpg",
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        leftovers: Leftovers | None = None,
    ) -> None:
        self._work_root = work_root
        self._redactor = redactor
        self._gpg_binary = gpg_binary
        self._chunk_size = chunk_size
        self._leftovers = leftovers
        self._open: OpenHandles[GpgDecryptionKeys] = OpenHandles()

    def load(self, private_key: bytes, passphrase: SecretStr) -> GpgDecryptionKeys:
        """Import the private key and prove that `passphrase` unlocks it.

        Raises:
            DecryptionError: the key is not one OpenPGP secret key, or the passphrase is wrong.
        """
        self._redactor.add(passphrase)
        try:
            keyring = SecretKeyring(
                self._work_root, self._redactor, self._gpg_binary, self._leftovers
            )
        except EncryptionError as exc:
            raise DecryptionError(str(exc)) from None
        except OSError as exc:
            raise DecryptionError(
                f"cannot make a keyring under {self._work_root}: {exc.strerror}"
            ) from None
        with disposed_on_failure(keyring, DecryptionError):
            info = self._import(keyring, private_key)
            self._unlock(keyring, info, passphrase)
        return self._open.add(
            GpgDecryptionKeys(
                keyring, info, self._redactor, self._chunk_size, self._open.forget, passphrase
            )
        )

    def load_keys(self, private_keys: bytes, passphrases: KeyPassphrases) -> DecryptionKeys:
        """Load each secret key of `private_keys` with its passphrase (adapters/gpg/keyset.py).

        Raises:
            DecryptionError: a key does not load, or the passphrases do not fit the keys.
        """
        return load_key_set(private_keys, passphrases, self.load)

    def close_all(self) -> None:
        """Close every loaded key that is still open (a last guard)."""
        self._open.close_all()

    def _import(self, keyring: SecretKeyring, private_key: bytes) -> KeyInfo:
        keys = keyring.show_keys(
            private_key,
            lambda reason: DecryptionError(f"private-key is not a valid OpenPGP key: {reason}"),
        )
        if len(keys) != 1:
            raise DecryptionError(f"private-key holds {len(keys)} primary keys; give exactly one")
        key = keys[0]
        if not key.holds_secret:
            raise DecryptionError(
                f"private-key (fingerprint {key.fingerprint}) holds no secret key material; "
                "give the secret key (gpg --export-secret-keys --armor KEY)"
            )
        keyring.import_keys(
            private_key,
            lambda reason: DecryptionError(f"gpg could not import private-key: {reason}"),
        )
        key_ids = (key.fingerprint, *(subkey.fingerprint for subkey in key.subkeys))
        return KeyInfo(key.fingerprint, key.valid_user_ids, key_ids)

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
                f"subkey: {diagnostics(probe.stderr, self._redactor)}"
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
            f"{diagnostics(stderr, self._redactor)}"
        )


def _after_passphrase(passphrase: SecretStr, cipher: Iterable[bytes]) -> Iterator[bytes]:
    """Yield the passphrase line for `--passphrase-fd 0`, then the message; close it at the end."""
    try:
        yield passphrase.get_secret_value().encode() + b"\n"
        yield from cipher
    finally:
        close_source(cipher)


def _newest_creation(listing: str) -> int:
    """Return the newest creation time (epoch seconds) of a key and its subkeys in a listing."""
    times = [
        int(fields[5])
        for fields in (line.split(":") for line in listing.splitlines())
        if fields[0] in ("pub", "sub") and len(fields) > 5 and fields[5].isdigit()
    ]
    return max(times, default=0)
