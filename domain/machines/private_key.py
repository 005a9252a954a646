"""Read the restore config and load its private key, for every job that decrypts (SPEC 6.3, 9).

`LoadPrivateKeyMachine` is the one place the restore config is read (every key once, secrets
masked, validated) and its private key (or keys, SPEC 14) loaded into throw-away keyrings; the
jobs that decrypt (restore, decrypt, verify, check, drill, rekey) run it as a child through
`PrivateKeySource.load` and close the `keys` it hands back in a clean-up node of their own.

It is also the one place a restore config is held to its client: its `backup-config-host` must
name the job's KEY_VAULT, or nothing is decrypted (one Failure line). A restore config written
before that key was enforced may lack it: the key is then loaded with a warning in the log
(refusing would lock an operator out of every old backup on the day of a restore, and a wrong
client's key cannot decrypt the backups anyway), while `check` reports the missing key as a
problem (`require_host`) so that it is added long before it is needed. Failure prefix: the
parent's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from domain.framework.definition import node
from domain.framework.machine import Machine, Step
from domain.framework.slot import Slot
from domain.models.redaction import Redactor
from domain.models.restore_config import BACKUP_CONFIG_HOST, RestoreConfig, RestoreConfigError
from domain.services.configs import read_restore_config
from ports.config_source import ConfigSource
from ports.decryptor import DecryptionKeys, Decryptor

logger = logging.getLogger("lts.restore")


class LoadPrivateKeyMachine(Machine):
    """Read the restore config, check it belongs to the client, import and unlock its key.

    Args:
        prefix: the parent job's failure prefix.
        source: the restore config's store.
        decryptor: loads the key.
        redactor: learns the restore config's secrets.
        config_url: the job's KEY_VAULT; empty when the host cannot say (nothing is checked).
        require_host: a restore config without `backup-config-host` is a failure (check).
    """

    config = Slot[RestoreConfig]("read_restore_config")
    keys = Slot[DecryptionKeys]("load_key")
    """The loaded key; the parent closes it. Unset when this machine failed."""

    def __init__(
        self,
        *,
        prefix: str,
        source: ConfigSource,
        decryptor: Decryptor,
        redactor: Redactor,
        config_url: str = "",
        require_host: bool = False,
    ) -> None:
        super().__init__()
        self._prefix = prefix
        self._source = source
        self._decryptor = decryptor
        self._redactor = redactor
        self._config_url = config_url
        self._require_host = require_host

    @property
    def prefix(self) -> str:
        """Return the parent job's prefix."""
        return self._prefix

    @property
    def loaded(self) -> DecryptionKeys | None:
        """Return the loaded keys, or None when the config or the key failed."""
        return LoadPrivateKeyMachine.keys.get(self)

    @node(
        entry=True,
        happy=("check_backup_config_host",),
        unhappy=("report_results",),
        on_exception="report_results",
    )
    def read_restore_config(self) -> Step:
        """Read the private key and its passphrase from the restore vault."""
        try:
            self.config = read_restore_config(self._source, self._redactor)
        except RestoreConfigError as exc:
            return self.failure(self.report_results, f"invalid restore config: {exc}")
        return self.success(self.check_backup_config_host)

    @node(happy=("load_key",), unhappy=("report_results",), on_exception="report_results")
    def check_backup_config_host(self) -> Step:
        """Refuse a restore config whose `backup-config-host` is not the job's KEY_VAULT."""
        host = self.config.backup_config_host
        if not self._config_url:
            return self.success(self.load_key)
        if host is None:
            if self._require_host:
                return self.failure(
                    self.report_results,
                    f"the restore config has no {BACKUP_CONFIG_HOST}; add "
                    f"{BACKUP_CONFIG_HOST} = {self._config_url} so that it is held to this client",
                )
            logger.warning(
                "the restore config has no %s; it cannot be held to %s (add it)",
                BACKUP_CONFIG_HOST,
                self._config_url,
            )
            return self.success(self.load_key)
        if not self.config.belongs_to(self._config_url):
            return self.failure(
                self.report_results,
                f"the restore config belongs to the backup config {host}, not to KEY_VAULT "
                f"{self._config_url}; nothing was decrypted",
            )
        return self.success(self.load_key)

    @node(happy=("report_results",), unhappy=("report_results",), on_exception="report_results")
    def load_key(self) -> Step:
        """Import the private key(s) into throw-away keyrings; check that each passphrase works."""
        config = self.config
        self.keys = self._decryptor.load_keys(config.key_bytes, config.passphrases)
        logger.info("private key %s loaded", self.keys.info.fingerprint)
        return self.success(self.report_results)


@dataclass(frozen=True, slots=True)
class PrivateKeySource:
    """Where a job that decrypts gets its private keys, and the KEY_VAULT they are held to.

    Args:
        source: the restore config's store.
        decryptor: loads the keys.
        redactor: learns the restore config's secrets.
        config_url: the job's KEY_VAULT; empty when the host cannot say (nothing is checked).
    """

    source: ConfigSource
    decryptor: Decryptor
    redactor: Redactor
    config_url: str = ""

    def load(self, parent: Machine, *, require_host: bool = False) -> DecryptionKeys | None:
        """Run LoadPrivateKeyMachine as a child of `parent`; return the keys, None when it failed.

        The child's results land among `parent`'s (before the node that called this); the
        parent closes the keys in a clean-up node of its own. With `require_host`, a restore
        config without `backup-config-host` is a failure (check).
        """
        loader = LoadPrivateKeyMachine(
            prefix=parent.prefix,
            source=self.source,
            decryptor=self.decryptor,
            redactor=self.redactor,
            config_url=self.config_url,
            require_host=require_host,
        )
        parent.add_results(loader.execute())
        return loader.loaded
