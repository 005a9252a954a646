"""GpgDecryptor: OpenPGP decryption with a client's private key through the `gpg` binary.

SPEC section 9. `load` imports the private key into a throw-away GNUPGHOME (mode 0700) under the
work root, never the user's keyring, and returns GpgDecryptionKeys, which own it: `close` stops
gpg-agent, which holds secret keys, and removes the directory. The passphrase goes to gpg once,
through loopback pinentry on a pipe (`--passphrase-fd`): never on a command line, in an
environment or a file. That one unlock decrypts a probe message; the throw-away agent then keeps
the unlocked key in memory for the job's later decryptions (`--pinentry-mode error`, so gpg
never waits for a pinentry).
Tested against the real gpg in tests/integration/test_restore_jobs.py and
tests/contract/test_decryptor.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from pydantic import SecretStr

from adapters.gpg.keyring import COMMAND_TIMEOUT_SECONDS, ThrowAwayKeyring, diagnostics
from adapters.gpg.keyset import load_key_set
from adapters.gpg.listing import parse_listing
from adapters.process import (
    CHUNK_SIZE,
    ChildError,
    ChildFailure,
    Completed,
    ProcessStream,
    Stage,
    close_source,
    run_command,
    stream_through,
)
from domain.models.redaction import Redactor
from domain.models.restore_config import KeyPassphrases
from ports.decryptor import DecryptionKeys, Decryptor, KeyInfo
from ports.errors import DecryptionError, EncryptionError

DEFAULT_CHUNK_SIZE = CHUNK_SIZE
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


class GpgDecryptionKeys(DecryptionKeys):
    """A private key unlocked in a throw-away keyring: decrypt streams with it until `close`."""

    def __init__(
        self,
        keyring: SecretKeyring,
        info: KeyInfo,
        redactor: Redactor,
        chunk_size: int,
        on_close: Callable[[GpgDecryptionKeys], None] = lambda _: None,
    ) -> None:
        self._keyring = keyring
        self._info = info
        self._redactor = redactor
        self._chunk_size = chunk_size
        self._on_close = on_close
        self._closed = False

    @property
    def info(self) -> KeyInfo:
        """Return the loaded key's fingerprint and user ids."""
        return self._info

    @property
    def homedir(self) -> Path:
        """Return the throw-away GNUPGHOME (gone once closed)."""
        return self._keyring.homedir

    def decrypt(self, cipher: Iterable[bytes]) -> ProcessStream:
        """Return the stream of the plaintext of the OpenPGP message `cipher`."""
        if self._closed:
            close_source(cipher)
            raise DecryptionError("the private key was closed")
        argv = self._keyring.argv("--pinentry-mode", "error", "--decrypt", "--output", "-")
        stage = Stage(argv, self._keyring.child_env, "gpg", self._failed, self._redactor)
        return stream_through(cipher, stage, chunk_size=self._chunk_size)

    def close(self) -> None:
        """Stop the keyring's agent and remove the keyring; safe to call twice."""
        self._closed = True
        self._keyring.dispose()
        self._on_close(self)

    def _failed(self, failure: ChildFailure) -> DecryptionError:
        if failure.returncode is None:
            return DecryptionError(f"gpg failed to decrypt: {failure.message}")
        return DecryptionError(
            f"gpg failed to decrypt (exit {failure.returncode}): "
            f"{failure.detail or 'no diagnostics'}"
        )


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
    ) -> None:
        self._work_root = work_root
        self._redactor = redactor
        self._gpg_binary = gpg_binary
        self._chunk_size = chunk_size
        # Single-key updates and copy() of a dict are atomic: no lock for close_all to wait on.
        self._open: dict[int, GpgDecryptionKeys] = {}

    def load(self, private_key: bytes, passphrase: SecretStr) -> GpgDecryptionKeys:
        """Import the private key and prove that `passphrase` unlocks it.

        Raises:
            DecryptionError: the key is not one OpenPGP secret key, or the passphrase is wrong.
        """
        self._redactor.add(passphrase)
        try:
            keyring = SecretKeyring(self._work_root, self._redactor, self._gpg_binary)
        except EncryptionError as exc:
            raise DecryptionError(str(exc)) from None
        except OSError as exc:
            raise DecryptionError(
                f"cannot make a keyring under {self._work_root}: {exc.strerror}"
            ) from None
        try:
            info = self._import(keyring, private_key)
            self._unlock(keyring, info, passphrase)
        except EncryptionError as exc:
            # A key command that could not run (ThrowAwayKeyring.run).
            keyring.dispose()
            raise DecryptionError(str(exc)) from None
        except BaseException:
            keyring.dispose()
            raise
        keys = GpgDecryptionKeys(keyring, info, self._redactor, self._chunk_size, self._forget)
        self._open[id(keys)] = keys
        return keys

    def load_keys(self, private_keys: bytes, passphrases: KeyPassphrases) -> DecryptionKeys:
        """Load each secret key of `private_keys` with its passphrase (adapters/gpg/keyset.py).

        Raises:
            DecryptionError: a key does not load, or the passphrases do not fit the keys.
        """
        return load_key_set(private_keys, passphrases, self.load)

    def close_all(self) -> None:
        """Close every loaded key that is still open (a last guard)."""
        for keys in self._open.copy().values():
            keys.close()

    def _forget(self, keys: GpgDecryptionKeys) -> None:
        self._open.pop(id(keys), None)

    def _import(self, keyring: SecretKeyring, private_key: bytes) -> KeyInfo:
        shown = keyring.run("--with-colons", "--fixed-list-mode", "--show-keys", stdin=private_key)
        keys = parse_listing(shown.stdout.decode("utf-8", errors="replace"))
        if shown.returncode != 0 or not keys:
            raise DecryptionError(
                "private-key is not a valid OpenPGP key: "
                f"{diagnostics(shown.stderr, self._redactor)}"
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
                f"gpg could not import private-key: {diagnostics(imported.stderr, self._redactor)}"
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


def _newest_creation(listing: str) -> int:
    """Return the newest creation time (epoch seconds) of a key and its subkeys in a listing."""
    times = [
        int(fields[5])
        for fields in (line.split(":") for line in listing.splitlines())
        if fields[0] in ("pub", "sub") and len(fields) > 5 and fields[5].isdigit()
    ]
    return max(times, default=0)
