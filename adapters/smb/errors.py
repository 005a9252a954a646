"""Turn smbprotocol's exceptions into the port's one-line ShareUnavailableError / ShareFullError."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager

from smbprotocol.exceptions import SMBException, SMBOSError, SMBResponseException

from adapters.process.text import one_line
from domain.models.redaction import Redactor
from ports.errors import ShareFullError, ShareUnavailableError

STATUS_DISK_FULL = 0xC000007F
STATUS_QUOTA_EXCEEDED = 0xC0000044
_FULL_STATUSES = frozenset({STATUS_DISK_FULL, STATUS_QUOTA_EXCEEDED})
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_SERVER_PREFIX = "Received unexpected status from the server: "

SmbFailure = (OSError, SMBException, ValueError)
"""What smbclient raises: SMBOSError (an OSError) for file errors, SMBResponseException for
session and write errors, ValueError when it cannot connect at all."""


@contextmanager
def smb_errors(action: str, where: str, redactor: Redactor) -> Iterator[None]:
    """Raise a failure of the SMB calls inside as ShareUnavailableError (or ShareFullError).

    The message is `cannot <action> <where>: <reason>`, on one line, with secrets masked.
    """
    try:
        yield
    except SmbFailure as error:
        reason = one_line(_reason(error), redactor)
        if is_full(error):
            raise ShareFullError(f"share is full: cannot {action} {where}: {reason}") from error
        raise ShareUnavailableError(f"cannot {action} {where}: {reason}") from error


def is_full(error: BaseException) -> bool:
    """Tell whether an SMB error means the share is out of space or quota."""
    if isinstance(error, OSError) and error.errno in _FULL_ERRNOS:
        return True
    return _status(error) in _FULL_STATUSES


def error_number(error: BaseException) -> int | None:
    """Return the errno of an SMB file error (ENOENT, EEXIST...), or None for other errors."""
    return error.errno if isinstance(error, OSError) else None


def _status(error: BaseException) -> int | None:
    if isinstance(error, SMBOSError):
        return int(error.ntstatus)
    if isinstance(error, SMBResponseException):
        return int(error.status)
    return None


def _reason(error: BaseException) -> str:
    if isinstance(error, SMBOSError):
        status = _status(error)
        return f"{error.strerror} (NT status 0x{status:08x})"
    text = str(error) or type(error).__name__
    return text.removeprefix(_SERVER_PREFIX)
