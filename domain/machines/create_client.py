"""Onboard a client: key pair, backup and restore configs, share folders, then check (SPEC 5).

Runs inside MountShareMachine like every job on a client's share: the mounting machine reads the
new client's settings (with a placeholder public key) through the same validation the backup job
uses and mounts the share before anything is made. A backup or restore config that is already
there is refused before anything is written (nothing is written, one Failure). The key pair is
generated with a strong random passphrase; the private key and passphrase go to the restore
config, which is written first: a backup config whose private key was lost would make every
backup unrestorable. Then the backup config (with the public key), then the tier and archive
folders on the share, then the check job's machine on the config as read back, whose results are
part of this run's. An interrupted run leaves a restore config without a backup config; remove it
before running again (docs/operations.md). Failure prefix: `<client>`.

With `--signing`, the operator's signing key (SPEC 14) is generated first, before anything else
is made: an unprotected ed25519 signing key written to `[signing] key_file` (mode 0600) and its
public half beside it (`<key_file stem>.pub.asc`, for `[signing] trusted_keys`). An existing
file at either path is never overwritten: the run stops there and nothing is written.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath

from pydantic import SecretStr

from domain.framework.definition import node
from domain.framework.machine import Machine, Step
from domain.framework.results import Result, failures
from domain.framework.slot import Slot
from domain.machines.mount import ClientContext
from domain.models.operations import NewClient
from domain.models.redaction import Redactor
from domain.models.restore_config import BACKUP_CONFIG_HOST, PASSPHRASE, PRIVATE_KEY
from domain.models.run import Tier
from domain.models.signing import SigningKeyFiles
from domain.services.configs import read_client_config
from ports.config_source import ConfigSource
from ports.config_writer import ConfigWriter
from ports.key_generator import GeneratedKey, KeyGenerator
from ports.local_files import LocalFiles

logger = logging.getLogger("lts.create_client")

ARCHIVE_FOLDER = "archive"
CLIENT_NAME_KEY = "client-name"


@dataclass(frozen=True, slots=True)
class OnboardingPorts:
    """The ports onboarding talks through, besides the share."""

    key_generator: KeyGenerator
    backup_writer: ConfigWriter
    restore_writer: ConfigWriter
    backup_source: ConfigSource
    """The backup config as the backup job will read it, to check what was written."""
    files: LocalFiles | None = None
    """Where the signing key is written (`--signing`)."""


class CreateClientMachine(Machine):
    """Generate a client's key pair, write its configs, make its share folders, check it."""

    key = Slot[GeneratedKey]("generate_key")

    def __init__(
        self,
        context: ClientContext,
        *,
        new_client: NewClient,
        ports: OnboardingPorts,
        check: Callable[[ClientContext], Machine],
        backup_config_url: str,
        redactor: Redactor,
        signing_key: SigningKeyFiles | None = None,
        signing_user_id: str = "long-term-storage run signing",
    ) -> None:
        super().__init__()
        self._signing_key = signing_key
        self._signing_user_id = signing_user_id
        self.signing_fingerprint: str | None = None
        self._share = context.share
        self._new = new_client
        self._ports = ports
        self._check_factory = check
        self._backup_url = backup_config_url
        self._redactor = redactor
        self._written: list[str] = []
        self._check: Machine | None = None

    @property
    def prefix(self) -> str:
        """Return the client name."""
        return self._new.client_name

    @node(
        entry=True,
        happy=("generate_signing_key",),
        unhappy=("report_results",),
        on_exception="report_results",
    )
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
        return self.success(self.generate_signing_key)

    @node(happy=("generate_key",), unhappy=("report_results",), on_exception="report_results")
    def generate_signing_key(self) -> Step:
        """With --signing, make the operator's signing key at [signing] key_file (0600)."""
        files = self._signing_key
        if files is None:
            return self.success(self.generate_key)
        if files.secret is None or files.public is None or self._ports.files is None:
            return self.failure(
                self.report_results,
                "--signing needs [signing] key_file in the master config (where the signing "
                "key goes); nothing was written",
            )
        local = self._ports.files
        taken = [str(path) for path in (files.secret, files.public) if local.exists(path)]
        if taken:
            return self.failure(
                self.report_results,
                f"{' and '.join(taken)} already exist{'s' if len(taken) == 1 else ''}; refusing "
                "to overwrite a signing key (leave out --signing to keep it), nothing was written",
            )
        key = self._ports.key_generator.generate_signing_key(self._signing_user_id)
        self._redactor.add(key.secret_key)
        local.write_private(files.secret, [key.secret_key.get_secret_value().encode("ascii")])
        self._written.append(f"signing key {files.secret}")
        local.write_private(files.public, [key.public_key])
        self.signing_fingerprint = key.fingerprint
        logger.info("generated signing key %s in %s", key.fingerprint, files.secret)
        return self.success(self.generate_key)

    @node(
        happy=("write_restore_config",), unhappy=("report_results",), on_exception="report_results"
    )
    def generate_key(self) -> Step:
        """Generate the client's OpenPGP key pair, protected by a strong random passphrase."""
        self.key = self._ports.key_generator.generate(self._new.key_user_id)
        self._redactor.add(self.key.passphrase, self.key.secret_key)
        logger.info("generated key %s for %s", self.key.fingerprint, self.key.user_id)
        return self.success(self.write_restore_config)

    @node(
        happy=("write_backup_config",), unhappy=("report_results",), on_exception="report_results"
    )
    def write_restore_config(self) -> Step:
        """Write the private key and its passphrase to the restore config, first."""
        secret = base64.b64encode(self.key.secret_key.get_secret_value().encode("ascii"))
        encoded = SecretStr(secret.decode("ascii"))
        self._redactor.add(encoded)
        self._ports.restore_writer.write(
            {
                PRIVATE_KEY: encoded,
                PASSPHRASE: self.key.passphrase,
                BACKUP_CONFIG_HOST: self._backup_url,
                # Marks a vault as this client's, so a second onboarding refuses to replace it.
                CLIENT_NAME_KEY: self._new.client_name,
            }
        )
        self._written.append("restore config")
        return self.success(self.write_backup_config)

    @node(happy=("create_folders",), unhappy=("report_results",), on_exception="report_results")
    def write_backup_config(self) -> Step:
        """Write the backup config with the new public key."""
        self._ports.backup_writer.write(self._new.backup_values(self.key.public_key))
        self._written.append("backup config")
        return self.success(self.create_folders)

    @node(happy=("run_check",), unhappy=("run_check",), on_exception="run_check")
    def create_folders(self) -> Step:
        """Create the end-of-month, end-of-year and archive folders."""
        for folder in (*Tier, ARCHIVE_FOLDER):
            self._share.make_dirs(PurePosixPath(folder))
        return self.success(self.run_check)

    @node(happy=("report_results",), unhappy=("report_results",), on_exception="report_results")
    def run_check(self) -> Step:
        """Read the written backup config back and run the check job's machine on it."""
        config = read_client_config(
            self._ports.backup_source, self._new.client_name, self._redactor
        )
        self._check = self._check_factory(ClientContext(config, self._share, self._backup_url))
        self.add_results(self._check.execute())
        return self.success(self.report_results)

    def summary(self, results: list[Result]) -> str:
        """Return one line: the key, what was written, problems."""
        problems = len(failures(results))
        key = CreateClientMachine.key.get(self)
        shown = f"key {key.fingerprint}" if key else "no key"
        written = " and ".join(self._written) or "nothing"
        verdict = "ready" if not problems else f"{problems} problem{'s' if problems != 1 else ''}"
        return f"create_client {self._new.client_name}: {shown}, wrote {written}, {verdict}"
