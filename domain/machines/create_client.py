"""Onboard a client: key pair, backup and restore configs, share folders, then check (SPEC 5).

The new backup config is validated before anything is made; a backup or restore config that is
already there is refused before anything is written (nothing is written, one Failure). The key
pair is generated with a strong random passphrase; the private key and passphrase go to the
restore config, which is written first: a backup config whose private key was lost would make
every backup unrestorable. Then the backup config (with the public key), then the tier and
archive folders on the share, then the check job's machine, whose results are part of this
run's. An interrupted run leaves a restore config without a backup config; remove it before
running again (docs/operations.md). Failure prefix: `<client>`.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from pathlib import PurePosixPath

from pydantic import SecretStr

from domain.framework.definition import node
from domain.framework.machine import Machine, Step
from domain.framework.results import Result, failures
from domain.machines.check import CheckMachineFactory
from domain.models.client_config import ClientConfig, ClientConfigError
from domain.models.operations import NewClient
from domain.models.redaction import Redactor
from domain.models.restore_config import BACKUP_CONFIG_HOST, PASSPHRASE, PRIVATE_KEY
from domain.models.run import Tier
from ports.config_writer import ConfigWriter
from ports.file_share import FileShare, MountOutcome, ShareOpener, ShareTarget
from ports.key_generator import GeneratedKey, KeyGenerator

logger = logging.getLogger("lts.create_client")

ARCHIVE_FOLDER = "archive"
PLACEHOLDER_KEY = b"public key, generated later"
CLIENT_NAME_KEY = "client-name"


@dataclass(frozen=True, slots=True)
class OnboardingPorts:
    """The ports onboarding talks through."""

    key_generator: KeyGenerator
    backup_writer: ConfigWriter
    restore_writer: ConfigWriter
    opener: ShareOpener


class CreateClientMachine(Machine):
    """Generate a client's key pair, write its configs, make its share folders, check it."""

    def __init__(
        self,
        *,
        new_client: NewClient,
        ports: OnboardingPorts,
        check: CheckMachineFactory,
        backup_config_url: str,
        redactor: Redactor,
    ) -> None:
        super().__init__()
        self._new = new_client
        self._ports = ports
        self._check_factory = check
        self._backup_url = backup_config_url
        self._redactor = redactor
        self._key: GeneratedKey | None = None
        self._share: FileShare | None = None
        self._mounted = False
        self._written: list[str] = []
        self._check: Machine | None = None

    @property
    def prefix(self) -> str:
        """Return the client name."""
        return self._new.client_name

    @node(
        entry=True,
        happy=("check_configs_absent",),
        unhappy=("report_results",),
        on_exception="report_results",
    )
    def validate_settings(self) -> Step:
        """Validate the new backup config as the backup job will, before anything is made."""
        values = self._new.backup_values(PLACEHOLDER_KEY)
        self._redactor.add(*(values.get(key) for key in ClientConfig.secret_keys()))
        plain = {
            key: value.get_secret_value() if isinstance(value, SecretStr) else value
            for key, value in values.items()
        }
        try:
            ClientConfig.from_raw(plain, self._new.client_name)
        except ClientConfigError as exc:
            return self.failure(
                self.report_results, f"the new client config would be invalid: {exc}"
            )
        return self.success(self.check_configs_absent)

    @node(happy=("generate_key",), unhappy=("report_results",), on_exception="report_results")
    def check_configs_absent(self) -> Step:
        """Refuse to onboard over an existing backup or restore config; nothing is written."""
        taken = [
            what
            for what, writer in (
                ("the backup config (KEY_VAULT)", self._ports.backup_writer),
                ("the restore config (--restore-vault)", self._ports.restore_writer),
            )
            if writer.holds_config()
        ]
        if taken:
            return self.failure(
                self.report_results,
                f"{' and '.join(taken)} already hold{'s' if len(taken) == 1 else ''} a client's "
                "settings; refusing to overwrite them, nothing was written",
            )
        return self.success(self.generate_key)

    @node(
        happy=("write_restore_config",), unhappy=("report_results",), on_exception="report_results"
    )
    def generate_key(self) -> Step:
        """Generate the client's OpenPGP key pair, protected by a strong random passphrase."""
        self._key = self._ports.key_generator.generate(self._new.key_user_id)
        self._redactor.add(self._key.passphrase, self._key.secret_key)
        logger.info("generated key %s for %s", self._key.fingerprint, self._key.user_id)
        return self.success(self.write_restore_config)

    @node(
        happy=("write_backup_config",), unhappy=("report_results",), on_exception="report_results"
    )
    def write_restore_config(self) -> Step:
        """Write the private key and its passphrase to the restore config, first."""
        key = self._generated()
        secret = base64.b64encode(key.secret_key.get_secret_value().encode("ascii"))
        encoded = SecretStr(secret.decode("ascii"))
        self._redactor.add(encoded)
        self._ports.restore_writer.write(
            {
                PRIVATE_KEY: encoded,
                PASSPHRASE: key.passphrase,
                BACKUP_CONFIG_HOST: self._backup_url,
                # Marks a vault as this client's, so a second onboarding refuses to replace it.
                CLIENT_NAME_KEY: self._new.client_name,
            }
        )
        self._written.append("restore config")
        return self.success(self.write_backup_config)

    @node(happy=("open_share",), unhappy=("report_results",), on_exception="report_results")
    def write_backup_config(self) -> Step:
        """Write the backup config with the new public key."""
        self._ports.backup_writer.write(self._new.backup_values(self._generated().public_key))
        self._written.append("backup config")
        return self.success(self.open_share)

    @node(happy=("mount_share",), unhappy=("report_results",), on_exception="report_results")
    def open_share(self) -> Step:
        """Build the share adapter that fits `storage-unc`."""
        new = self._new
        target = ShareTarget(
            client=new.client_name, unc=new.storage_unc, user=new.storage_name, key=new.storage_key
        )
        self._share = self._ports.opener.open(target)
        return self.success(self.mount_share)

    @node(happy=("create_folders",), unhappy=("report_results",), on_exception="report_results")
    def mount_share(self) -> Step:
        """Mount the share, or reuse a mount of the same share."""
        self._mounted = self._opened().mount() is MountOutcome.MOUNTED
        return self.success(self.create_folders)

    @node(happy=("unmount_share",), unhappy=("unmount_share",), on_exception="unmount_share")
    def create_folders(self) -> Step:
        """Create the end-of-month, end-of-year and archive folders."""
        for folder in (*Tier, ARCHIVE_FOLDER):
            self._opened().make_dirs(PurePosixPath(folder))
        return self.success(self.unmount_share)

    @node(happy=("run_check",), unhappy=("run_check",), on_exception="run_check")
    def unmount_share(self) -> Step:
        """Unmount the share if this run mounted it."""
        if self._mounted:
            self._mounted = False
            self._opened().unmount()
        return self.success(self.run_check)

    @node(happy=("report_results",), unhappy=("report_results",), on_exception="report_results")
    def run_check(self) -> Step:
        """Run the check job's machine on the new client; its results land before this one."""
        self._check = self._check_factory()
        self.add_results(self._check.execute())
        return self.success(self.report_results)

    # ------------------------------------------------------------------ helpers

    def release_all(self) -> None:
        """Unmount, and let the check release what it holds; used when the machine broke."""
        if self._mounted and self._share is not None:
            self._mounted = False
            try:
                self._share.unmount()
            except Exception:
                logger.exception("emergency unmount failed")
        release = getattr(self._check, "release_all", None)
        if callable(release):
            release()

    def summary(self, results: list[Result]) -> str:
        """Return one line: the key, what was written, problems."""
        problems = len(failures(results))
        key = f"key {self._key.fingerprint}" if self._key else "no key"
        written = " and ".join(self._written) or "nothing"
        verdict = "ready" if not problems else f"{problems} problem{'s' if problems != 1 else ''}"
        return f"create_client {self._new.client_name}: {key}, wrote {written}, {verdict}"

    def _generated(self) -> GeneratedKey:
        if self._key is None:
            raise RuntimeError("generate_key has not run")
        return self._key

    def _opened(self) -> FileShare:
        if self._share is None:
            raise RuntimeError("open_share has not run")
        return self._share
