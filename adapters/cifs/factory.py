"""CifsShareFactory: build the FileShare for a `//host/share` target with the configured driver.

`[share] cifs_driver` picks the driver: `mount` (kernel CIFS, CifsMountFileShare) or `smb`
(userspace, SmbFileShare). The container registers one instance as the opener of the `cifs`
scheme in SchemeShareOpener. Tested in tests/integration/test_cifs_mount.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from pathlib import Path

from adapters.cifs.mount import CifsMountFileShare
from adapters.smb.share import SmbFileShare
from domain.models.redaction import Redactor
from ports.errors import ConfigError
from ports.file_share import FileShare, ShareTarget


class CifsDriver(StrEnum):
    """The values of `[share] cifs_driver`."""

    MOUNT = "mount"
    SMB = "smb"


class CifsShareFactory:
    """Turn a ShareTarget into the FileShare of the configured CIFS driver.

    Args:
        driver: `[share] cifs_driver`, `mount` or `smb`.
        mount_root: `[paths] mount_root` (the mount driver's mount points live below it).
        use_sudo: `[share] use_sudo` (mount driver only).
        mount_options: `[share] mount_options` (mount driver only).
        redactor: learns each storage key.

    Raises:
        ConfigError: `driver` is not a known driver.
    """

    def __init__(
        self,
        *,
        driver: str,
        mount_root: Path,
        use_sudo: bool,
        mount_options: str,
        redactor: Redactor,
    ) -> None:
        self._mount_root = mount_root
        self._use_sudo = use_sudo
        self._mount_options = mount_options
        self._redactor = redactor
        builders: Mapping[str, Callable[[ShareTarget], FileShare]] = {
            CifsDriver.MOUNT: self._mounted,
            CifsDriver.SMB: self._smb,
        }
        builder = builders.get(driver)
        if builder is None:
            known = ", ".join(sorted(builders))
            raise ConfigError(f"[share] cifs_driver is '{driver}'; expected one of {known}")
        self._builder = builder

    def __call__(self, target: ShareTarget) -> FileShare:
        """Return the share adapter for `target` (not yet mounted)."""
        return self._builder(target)

    def _mounted(self, target: ShareTarget) -> FileShare:
        return CifsMountFileShare(
            target,
            mount_root=self._mount_root,
            redactor=self._redactor,
            use_sudo=self._use_sudo,
            extra_options=self._mount_options,
        )

    def _smb(self, target: ShareTarget) -> FileShare:
        return SmbFileShare(target, redactor=self._redactor)
