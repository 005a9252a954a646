"""The Mounter: what makes a local directory hold a share (a kernel CIFS mount, say).

A LocalDirFileShare given a Mounter mounts and unmounts through it, so a share the kernel mounted
is, once mounted, a local-directory share like any other. The composition root pairs them
(`LocalDirFileShare(mount.mount_point, mounter=mount)`); this package never imports a mounting
adapter, it only names what it needs of one.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Protocol

from ports.file_share import MountOutcome


class Mounter(Protocol):
    """Mounts a share on a directory and unmounts what it mounted."""

    @abstractmethod
    def mount(self) -> MountOutcome:
        """Mount the share (or reuse a mount of the same share) and say which it did.

        Raises:
            ShareUnavailableError: The share cannot be mounted.
        """

    @abstractmethod
    def unmount(self) -> None:
        """Unmount what `mount` mounted; nothing when it mounted nothing.

        Raises:
            ShareUnavailableError: The share cannot be unmounted.
        """
