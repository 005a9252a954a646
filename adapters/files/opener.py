"""SchemeShareOpener: pick the FileShare adapter by the URL scheme of `storage-unc`.

`//host/share` (the SPEC's UNC form) is the `cifs` scheme, `file:///path` is `file`. Tested in
tests/integration/test_local_share.py with the local-directory driver.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from pathlib import Path
from urllib.parse import unquote, urlsplit

from adapters.files.local_share import LocalDirFileShare
from ports.errors import ShareUnavailableError
from ports.file_share import FileShare, ShareOpener, ShareTarget


class ShareScheme(StrEnum):
    """The schemes a `storage-unc` can have."""

    FILE = "file"
    CIFS = "cifs"


class SchemeShareOpener(ShareOpener):
    """Build a share with the factory registered for the scheme of the target's UNC."""

    def __init__(self, openers: Mapping[str, Callable[[ShareTarget], FileShare]]) -> None:
        self.openers = dict(openers)

    def open(self, target: ShareTarget) -> FileShare:
        """Return the share for `target`; raise ShareUnavailableError for an unknown scheme."""
        scheme = share_scheme(target.unc)
        factory = self.openers.get(scheme)
        if factory is None:
            raise ShareUnavailableError(f"no share driver for '{scheme}://...'")
        return factory(target)


def share_scheme(unc: str) -> str:
    """Return the scheme of a `storage-unc`: `cifs` for `//host/share`, else the URL scheme.

    Raises:
        ShareUnavailableError: The UNC has no scheme at all (a bare path, say).
    """
    if unc.startswith(("//", "\\\\")):
        return ShareScheme.CIFS.value
    scheme = urlsplit(unc).scheme.lower()
    if not scheme:
        # The rest of the value is not echoed: it might carry a credential.
        raise ShareUnavailableError(
            "storage-unc has no scheme; expected file:///path or //host/share"
        )
    return scheme


def local_share_from_target(target: ShareTarget) -> LocalDirFileShare:
    """Build a LocalDirFileShare from a `file:///path` target (percent-encoding decoded).

    Raises:
        ShareUnavailableError: The UNC is not a local absolute `file:` URL.
    """
    parts = urlsplit(target.unc)
    if parts.scheme.lower() != ShareScheme.FILE:
        raise ShareUnavailableError(f"not a file URL: '{parts.scheme}://...'")
    if parts.netloc not in ("", "localhost"):
        raise ShareUnavailableError("a file URL must name a local path (file:///path)")
    if parts.query or parts.fragment:
        raise ShareUnavailableError("a file URL must not have a query or fragment")
    path = unquote(parts.path)
    if not path.startswith("/") or "\0" in path:
        raise ShareUnavailableError("a file URL must hold an absolute path (file:///path)")
    return LocalDirFileShare(Path(path))
