"""FernetSecretCipher: short secrets encrypted with Fernet (`cryptography`) and a rotating key file.

SPEC section 9: the scheduler passes the service principal's secret on the command line as a
Fernet token, which the job decrypts with the host's key file. The key file holds one key per
line; the first encrypts, every one decrypts (`MultiFernet`), so a new key can be put first
while tokens made with the old one keep working. FernetTokenSecret hands a token's secret to the
adapter that needs it (the Key Vault source), decrypted only when that adapter first uses it.
Tested in tests/unit/test_fernet_cipher.py.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from ports.errors import SecretError

_TOKEN = re.compile(r"^[A-Za-z0-9_=-]*$")
"""A Fernet token is url-safe base64 text."""

KEY_FILE_MODE = 0o600
"""The key file decrypts every client's secret: for the job's user only."""

KEY_FILE_HEADER = (
    "# long-term-storage Fernet keys, one a line: the first encrypts, every one decrypts.\n"
    "# To rotate, put a new key (lts generate_key) on the first line and keep the old ones.\n"
)


class FernetSecretCipher:
    """Encrypt and decrypt short secrets with the Fernet keys in `key_file`.

    The key file is read at the first use, not at construction, so building the container never
    touches it. Every problem raises SecretError with a one-line message that names the file
    (and the line of a malformed key) but never a key or a secret.
    """

    def __init__(self, key_file: Path) -> None:
        self.key_file = key_file
        self._fernet: MultiFernet | None = None
        self._loading = threading.Lock()

    def encrypt(self, secret: SecretStr) -> str:
        """Return a token for `secret`, made with the key file's first key."""
        return self._keys().encrypt(secret.get_secret_value().encode()).decode("ascii")

    def decrypt(self, token: str) -> SecretStr:
        """Return the secret a token holds.

        Raises:
            SecretError: The key file is missing or bad, no key fits the token, or the token is
                damaged.
        """
        keys = self._keys()
        token = token.strip()
        if not _TOKEN.match(token):
            # base64 decoding would silently skip stray characters; a token holding any is
            # damaged (often a shell quoting problem), and saying so saves a key hunt.
            raise SecretError(
                "the secret token cannot be decrypted: it holds characters a Fernet token never "
                "has (damaged or badly quoted on the command line)"
            )
        try:
            plain = keys.decrypt(token.encode())
        except InvalidToken:
            raise SecretError(
                f"the secret token cannot be decrypted with the keys in {self.key_file} "
                "(wrong key file or damaged token)"
            ) from None
        try:
            return SecretStr(plain.decode())
        except UnicodeDecodeError:
            raise SecretError("the secret token does not hold UTF-8 text") from None

    def _keys(self) -> MultiFernet:
        """Return the MultiFernet of the key file, loading it once."""
        with self._loading:
            if self._fernet is None:
                self._fernet = MultiFernet(_read_keys(self.key_file))
            return self._fernet


class FernetTokenSecret:
    """A secret that arrives as a Fernet token, decrypted each time it is asked for.

    The container passes one as the `client_secret` of KeyVaultConfigSource: the token is
    decrypted when the vault is first used, so a wrong key file or a damaged token is reported
    (SecretError) by the node that reads the config, and building the container decrypts nothing.
    """

    def __init__(self, cipher: FernetSecretCipher, token: str) -> None:
        self.cipher = cipher
        self.token = token

    def __call__(self) -> SecretStr:
        """Return the secret the token holds.

        Raises:
            SecretError: The key file is missing or bad, or the token is damaged or was made
                with another key.
        """
        return self.cipher.decrypt(self.token)

    def __repr__(self) -> str:
        # The token is not the secret, but it opens it with the host's key file.
        return f"{type(self).__name__}(key_file={self.cipher.key_file})"


def _read_keys(key_file: Path) -> list[Fernet]:
    """Return the Fernet keys of a key file, in order; blank lines and `#` comments are skipped."""
    try:
        text = key_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SecretError(f"the Fernet key file {key_file} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise SecretError(f"the Fernet key file {key_file} cannot be read ({reason})") from None
    keys: list[Fernet] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            keys.append(Fernet(stripped.encode()))
        except ValueError:
            # `from None`: the cause's text may quote the key.
            raise SecretError(
                f"line {number} of the Fernet key file {key_file} is not a Fernet key "
                "(32 url-safe base64-encoded bytes)"
            ) from None
    if not keys:
        raise SecretError(f"the Fernet key file {key_file} holds no key")
    return keys


def generate_key_file(path: Path, *, make_dirs: Callable[[Path], None] | None = None) -> None:
    """Write a new key file holding one fresh Fernet key, mode 0600; never overwrite one.

    The key is written to a private temporary file beside `path`, flushed, then hard-linked to
    `path`: the link fails when `path` exists (no overwrite, even in a race) and `path` never
    appears half-written.

    Args:
        path: where the key file goes.
        make_dirs: creates the missing parent directories; the composition root passes
            `adapters.os.paths.make_private_dirs` (0700 whatever the umask). Without it the
            parent directory must exist.

    Raises:
        SecretError: `path` exists, or the file cannot be written.
    """
    if path.exists() or path.is_symlink():
        raise SecretError(f"the Fernet key file {path} already exists; refusing to overwrite")
    try:
        if make_dirs is not None:
            make_dirs(path.parent)
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise SecretError(f"cannot write the Fernet key file {path} ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "w", encoding="ascii") as file:
            os.fchmod(file.fileno(), KEY_FILE_MODE)
            file.write(KEY_FILE_HEADER + Fernet.generate_key().decode("ascii") + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.link(temporary, path)
    except FileExistsError:
        raise SecretError(
            f"the Fernet key file {path} already exists; refusing to overwrite"
        ) from None
    except OSError as exc:
        raise SecretError(f"cannot write the Fernet key file {path} ({exc.strerror})") from None
    finally:
        Path(temporary).unlink(missing_ok=True)
