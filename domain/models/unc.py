"""A `storage-unc` of an SMB share (`//host/share[/path]`) split into its parts.

Both CIFS drivers (the kernel mount and userspace SMB) read it the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

_FORBIDDEN_IN_PARTS = frozenset(':*?"<>|\0\r\n')
"""Characters no SMB server accepts in a host, share or folder name (':' would name a stream)."""


class UncError(ValueError):
    """A `storage-unc` is not `//host/share[/path]`; the text never echoes the value."""


@dataclass(frozen=True, slots=True)
class UncPath:
    """A share on an SMB server and an optional folder inside it."""

    host: str
    share: str
    folders: tuple[str, ...] = ()

    @property
    def source(self) -> str:
        """Return the `//host/share[/path]` form that `mount -t cifs` takes and mountinfo shows."""
        return "/".join(("/", self.host, self.share, *self.folders))

    @property
    def windows(self) -> str:
        r"""Return the `\\host\share[\path]` form that smbclient takes."""
        return "\\".join(("\\", self.host, self.share, *self.folders))

    def same_share(self, source: str) -> bool:
        """Tell whether a mount source names this share and folder (host and names ignore case)."""
        try:
            other = parse_unc(source)
        except UncError:
            return False
        return other.key == self.key

    @property
    def key(self) -> tuple[str, ...]:
        """Return the case-folded parts: SMB host, share and file names are case-insensitive."""
        return tuple(part.casefold() for part in (self.host, self.share, *self.folders))


def parse_unc(unc: str) -> UncPath:
    r"""Split `//host/share[/path]` (or `\\host\share[\path]`) into host, share and folders.

    Raises:
        UncError: `unc` is not of that form; the message does not echo it, since a
            mistyped value could hold a credential.
    """
    text = unc.replace("\\", "/")
    if not text.startswith("//"):
        raise UncError("storage-unc must look like //host/share")
    parts = [part for part in text[2:].split("/") if part]
    if len(parts) < 2:
        raise UncError("storage-unc must name a host and a share: //host/share")
    if any(part in (".", "..") for part in parts):
        raise UncError("storage-unc must not contain '.' or '..' parts")
    if any(_FORBIDDEN_IN_PARTS.intersection(part) for part in parts):
        # ':' also catches `//host:port/share`: the port is a driver setting, never in the UNC.
        raise UncError('storage-unc holds a character SMB does not allow (one of : * ? " < > |)')
    host, share, *folders = parts
    return UncPath(host, share, tuple(folders))
