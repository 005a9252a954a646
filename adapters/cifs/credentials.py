"""Hand the storage key to `mount.cifs` in a 0600 credentials file that lives only during mount.

The file sits in a private 0700 directory of its own and is removed as soon as `mount` returns,
whatever happened: the key is never on a command line, where every user of the host could read
it, and never in the job's environment, which `sudo` would strip anyway.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import SecretStr

from ports.errors import ShareUnavailableError

logger = logging.getLogger("lts.cifs")

CREDENTIALS_MODE = 0o600
CREDENTIALS_NAME = "credentials"
_LINE_BREAKS = frozenset("\r\n\0")


@contextmanager
def credentials_file(user: str, key: SecretStr, directory: Path | None = None) -> Iterator[Path]:
    """Yield the path of a fresh `username=`/`password=` file (mode 0600), removed on exit.

    Args:
        user: the storage account name.
        key: the storage account key.
        directory: where the private directory is made (default: the system temp directory).

    Raises:
        ShareUnavailableError: A value holds a line break (mount.cifs reads one value per line),
            or the file cannot be written.
    """
    password = key.get_secret_value()
    if _LINE_BREAKS.intersection(user) or _LINE_BREAKS.intersection(password):
        raise ShareUnavailableError("storage-name or storage-key contains a line break")
    try:
        private = Path(tempfile.mkdtemp(prefix="lts-cifs-", dir=directory))
    except OSError as error:
        raise ShareUnavailableError(
            f"cannot create a credentials directory: {error.strerror or error}"
        ) from None
    try:
        path = private / CREDENTIALS_NAME
        try:
            fd = os.open(
                path,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                CREDENTIALS_MODE,
            )
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                os.fchmod(file.fileno(), CREDENTIALS_MODE)
                file.write(f"username={user}\npassword={password}\n")
        except OSError as error:
            raise ShareUnavailableError(
                f"cannot write the credentials file: {error.strerror or error}"
            ) from None
        yield path
    finally:
        _remove(private)


def _remove(private: Path) -> None:
    try:
        (private / CREDENTIALS_NAME).unlink(missing_ok=True)
        private.rmdir()
    except OSError as error:
        # Never fatal for the run, but loud: a key left on disk must be noticed.
        logger.error("cannot remove the CIFS credentials in %s: %s", private, error.strerror)
