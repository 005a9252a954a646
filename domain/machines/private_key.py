"""Read the restore config and load its private key, for every job that decrypts (SPEC 6.3, 9).

`LoadPrivateKeyMachine` is the one place the restore config is read (every key once, secrets
masked, validated) and its private key (or keys, SPEC 14) loaded into throw-away keyrings; the
jobs that decrypt (restore, decrypt, verify, check, rekey) run it as a child and close the `keys`
it hands back in a clean-up node of their own. Failure prefix: the parent's.
"""

from __future__ import annotations

import logging

from domain.framework.definition import node
from domain.framework.machine import Machine, Step
from domain.framework.slot import Slot
from domain.models.redaction import Redactor
from domain.models.restore_config import RestoreConfig, RestoreConfigError
from domain.services.configs import read_restore_config
from ports.config_source import ConfigSource
from ports.decryptor import DecryptionKeys, Decryptor

logger = logging.getLogger("lts.restore")


class LoadPrivateKeyMachine(Machine):
    """Read the restore config, then import and unlock its private key."""

    config = Slot[RestoreConfig]("read_restore_config")
    keys = Slot[DecryptionKeys]("load_key")
    """The loaded key; the parent closes it. Unset when this machine failed."""

    def __init__(
        self, *, prefix: str, source: ConfigSource, decryptor: Decryptor, redactor: Redactor
    ) -> None:
        super().__init__()
        self._prefix = prefix
        self._source = source
        self._decryptor = decryptor
        self._redactor = redactor

    @property
    def prefix(self) -> str:
        """Return the parent job's prefix."""
        return self._prefix

    @property
    def loaded(self) -> DecryptionKeys | None:
        """Return the loaded keys, or None when the config or the key failed."""
        return LoadPrivateKeyMachine.keys.get(self)

    @node(
        entry=True, happy=("load_key",), unhappy=("report_results",), on_exception="report_results"
    )
    def read_restore_config(self) -> Step:
        """Read the private key and its passphrase from the restore vault."""
        try:
            self.config = read_restore_config(self._source, self._redactor)
        except RestoreConfigError as exc:
            return self.failure(self.report_results, f"invalid restore config: {exc}")
        return self.success(self.load_key)

    @node(happy=("report_results",), unhappy=("report_results",), on_exception="report_results")
    def load_key(self) -> Step:
        """Import the private key(s) into throw-away keyrings; check that each passphrase works."""
        config = self.config
        self.keys = self._decryptor.load_keys(config.key_bytes, config.passphrases)
        logger.info("private key %s loaded", self.keys.info.fingerprint)
        return self.success(self.report_results)


def load_private_keys(
    parent: Machine, *, source: ConfigSource, decryptor: Decryptor, redactor: Redactor
) -> DecryptionKeys | None:
    """Run LoadPrivateKeyMachine as a child of `parent`'s current node.

    Its results land before that node's own; returns the loaded keys (the parent closes them),
    or None when the config or a key failed (its results say why).
    """
    loader = LoadPrivateKeyMachine(
        prefix=parent.prefix, source=source, decryptor=decryptor, redactor=redactor
    )
    parent.add_results(loader.execute())
    return loader.loaded
