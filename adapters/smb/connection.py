r"""SmbConnection: one client's SMB session to `//host/share[/path]`, and its path rules.

Every instance keeps its own smbclient connection pool, so closing one client's session never
drops another's. Share paths map to `\\host\share[\path]\a\b`; absolute paths, `..`, and names
that SMB would read as something else (a backslash splits a name, a colon names a stream) are
refused. Tested against a real Samba server through SmbFileShare
(tests/integration/test_smb_share.py).
"""

from __future__ import annotations

import errno
from contextlib import AbstractContextManager
from pathlib import PurePosixPath
from typing import Any, TypedDict, Unpack

import smbclient

from adapters.smb.errors import smb_errors
from domain.models.redaction import Redactor
from domain.models.unc import UncError, UncPath, parse_unc
from ports.errors import ConfigError, ShareUnavailableError
from ports.file_share import ShareTarget

DEFAULT_SMB_PORT = 445
DEFAULT_CONNECTION_TIMEOUT_SECONDS = 30.0
MISSING_ERRNOS = frozenset({errno.ENOENT, errno.ENOTDIR})
"""What the server answers for a path that does not exist (or runs through a file)."""
_FORBIDDEN_IN_NAMES = frozenset("\\:\0")
"""A backslash would split a name on the server and a colon would name an alternate stream."""


class SmbOptions(TypedDict, total=False):
    """How to reach the server, each with its default.

    port: the server's SMB port (445; tests use a Samba server on a free port).
    encrypt: require SMB 3 encryption (Azure Files refuses unencrypted sessions from outside its
        region); True by default.
    connection_timeout: seconds to wait for the TCP connection.
    """

    port: int
    encrypt: bool
    connection_timeout: float


class SmbConnection:
    """The session, the keywords every smbclient call takes, and the mapping of share paths.

    Args:
        target: the share (`//host/share[/path]`), user (`storage-name`), key (`storage-key`).
        redactor: learns the storage key; masks every error text with it.
        options: SmbOptions.

    Raises:
        ConfigError: The target has no storage name or key.
        ShareUnavailableError: The UNC is not `//host/share[/path]`.
    """

    def __init__(
        self, target: ShareTarget, *, redactor: Redactor, **options: Unpack[SmbOptions]
    ) -> None:
        if not target.user or target.key is None:
            raise ConfigError("storage-name and storage-key are required for a //host/share")
        redactor.add(target.key)
        self.unc: UncPath = _parse(target.unc)
        self.port = options.get("port", DEFAULT_SMB_PORT)
        self.redactor = redactor
        self._user = target.user
        self._key = target.key
        self._encrypt = options.get("encrypt", True)
        self._connection_timeout = options.get(
            "connection_timeout", DEFAULT_CONNECTION_TIMEOUT_SECONDS
        )
        # smbclient's pool is global by default; one of our own keeps shares independent.
        self._connections: dict[str, Any] = {}

    def open(self) -> None:
        """Open the SMB session (log in).

        Raises:
            ShareUnavailableError: The server cannot be reached or refuses the login.
        """
        with smb_errors(f"connect to {self.unc.source} as", self._user, self.redactor):
            smbclient.register_session(self.unc.host, **self.session())

    def close(self) -> None:
        """Close this session's connections (open handles are closed with them)."""
        smbclient.reset_connection_cache(fail_on_error=False, connection_cache=self._connections)

    def session(self) -> dict[str, Any]:
        """Return the keywords every smbclient call takes to find (or reopen) this session."""
        return {
            "username": self._user,
            "password": self._key.get_secret_value(),
            "port": self.port,
            "encrypt": self._encrypt,
            "connection_timeout": self._connection_timeout,
            "connection_cache": self._connections,
        }

    def remote(self, path: PurePosixPath) -> str:
        r"""Map a share path to `\\host\share[\root]\a\b`, refusing escapes and odd names."""
        if path.is_absolute():
            raise ShareUnavailableError(f"share path {path} must be relative")
        if ".." in path.parts:
            raise ShareUnavailableError(f"share path {path} must not contain '..'")
        if any(_FORBIDDEN_IN_NAMES.intersection(part) for part in path.parts):
            raise ShareUnavailableError(f"share path {path} holds a backslash, colon or NUL")
        return "\\".join((self.unc.windows, *path.parts))

    def show(self, path: PurePosixPath) -> str:
        """Return how a share path appears in messages: `//host/share/root/path`."""
        return "/".join((self.unc.source, *path.parts))

    def errors(self, action: str, path: PurePosixPath) -> AbstractContextManager[None]:
        """Return a context that turns SMB failures into `cannot <action> <path>: <reason>`."""
        return smb_errors(action, self.show(path), self.redactor)

    def existing(self, remote: str, path: PurePosixPath, action: str) -> int:
        """Return the SMB attributes of what is at `path` itself (links not followed).

        Raises:
            ShareUnavailableError: nothing is there (`cannot <action> <path>: it does not exist`).
        """
        attributes = self.attributes(remote)
        if attributes is None:
            raise ShareUnavailableError(f"cannot {action} {self.show(path)}: it does not exist")
        return attributes

    def attributes(self, remote: str) -> int | None:
        """Return the SMB attributes of `remote` itself (links not followed); None if missing."""
        try:
            return int(smbclient.lstat(remote, **self.session()).st_file_attributes)
        except OSError as error:
            if error.errno in MISSING_ERRNOS:
                return None
            raise


def _parse(unc: str) -> UncPath:
    """Return the parts of `storage-unc`, a bad one being a share problem of the client config."""
    try:
        return parse_unc(unc)
    except UncError as error:
        raise ShareUnavailableError(str(error)) from None
