"""The SecretCipher port on Fernet (`cryptography`), with a key file that allows rotation.

SPEC section 9: the scheduler passes the service principal's secret on the command line as a
Fernet token, which the job decrypts with the host's key file. The key file holds one key per
line; the first encrypts, every one decrypts (`MultiFernet`), so a new key can be put first
while tokens made with the old one keep working. Tested in tests/unit/test_fernet_cipher.py.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from adapters.os.paths import PRIVATE_FILE_MODE, make_private_dirs
from ports.errors import SecretError
from ports.secret_cipher import SecretCipher

_TOKEN = re.compile(r"^[A-Za-z0-9_=-]*$")
"""A Fernet token is url-safe base64 text."""

KEY_FILE_HEADER = (
    "# long-term-storage Fernet keys, one a line: the first encrypts, every one decrypts.\n"
    "# To rotate, put a new key (lts generate_key) on the first line and keep the old ones.\n"
)


class FernetSecretCipher(SecretCipher):
    """Encrypts and decrypts short secrets with the Fernet keys in `key_file`.

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


def generate_key_file(path: Path) -> None:
    """Write a new key file holding one fresh Fernet key, mode 0600; never overwrite one.

    The key is written to a private temporary file beside `path`, flushed, then hard-linked to
    `path`: the link fails when `path` exists (no overwrite, even in a race) and `path` never
    appears half-written. Missing parent directories are created with mode 0700.

    Raises:
        SecretError: `path` exists, or the file cannot be written.
    """
    if path.exists() or path.is_symlink():
        raise SecretError(f"the Fernet key file {path} already exists; refusing to overwrite")
    try:
        make_private_dirs(path.parent)
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise SecretError(f"cannot write the Fernet key file {path} ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "w", encoding="ascii") as file:
            os.fchmod(file.fileno(), PRIVATE_FILE_MODE)
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
