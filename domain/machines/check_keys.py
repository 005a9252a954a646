"""Check a client's keys: the public key, its expiry, and that the private key opens it (SPEC 5).

A child of the check job. The public key (and the escrow key) must load, match `key-name` and not
expire within the warning time; with a restore config, its private key must decrypt a sample the
public key encrypts. Both keyrings are closed again whatever happened. Failure prefix: `<client>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.framework.definition import node
from domain.framework.machine import Machine, Step
from domain.framework.slot import Slot
from domain.machines.private_key import PrivateKeySource
from domain.models.client_config import ClientConfig
from domain.models.redaction import Redactor
from domain.services.key_proof import sample_problem
from ports.clock import Clock
from ports.config_source import ConfigSource
from ports.decryptor import DecryptionKeys, Decryptor
from ports.encryptor import Encryptor, Recipients


@dataclass(frozen=True, slots=True)
class KeyPorts:
    """The ports the key check talks through."""

    encryptor: Encryptor
    decryptor: Decryptor
    clock: Clock


class CheckKeysMachine(Machine):
    """Load the public key, check its expiry, prove the private key decrypts what it encrypts."""

    recipients = Slot[Recipients]("load_public_key")
    keys = Slot[DecryptionKeys]("load_private_key")

    def __init__(
        self,
        *,
        config: ClientConfig,
        ports: KeyPorts,
        key_warning: timedelta,
        redactor: Redactor,
        restore_source: ConfigSource | None,
        config_url: str = "",
    ) -> None:
        super().__init__()
        self._config = config
        self._ports = ports
        self._key_warning = key_warning
        self._keys_from = (
            None
            if restore_source is None
            else PrivateKeySource(restore_source, ports.decryptor, redactor, config_url)
        )

    @property
    def prefix(self) -> str:
        """Return the client name."""
        return self._config.client_name

    @node(
        entry=True,
        happy=("check_key_expiry",),
        unhappy=("report_results",),
        on_exception="report_results",
    )
    def load_public_key(self) -> Step:
        """Import the public key (and escrow key) and check it against `key-name`."""
        config = self._config
        self.recipients = self._ports.encryptor.load(
            config.public_key, config.key_name, config.escrow_public_key
        )
        return self.success(self.check_key_expiry)

    @node(
        happy=("load_private_key",), unhappy=("load_private_key",), on_exception="load_private_key"
    )
    def check_key_expiry(self) -> Step:
        """Check that neither key stops encrypting within the warning time (90 days)."""
        info = self.recipients.info
        now = self._ports.clock.now()
        problems = [
            _expiry_problem(what, fingerprint, expires, now)
            for what, fingerprint, expires in (
                ("the public key", info.fingerprint, info.expires),
                ("the escrow key", info.escrow_fingerprint, info.escrow_expires),
            )
            if fingerprint and expires is not None and expires <= now + self._key_warning
        ]
        if problems:
            return self.failure(self.load_private_key, "; ".join(problems))
        return self.success(self.load_private_key)

    @node(
        happy=("decrypt_sample", "dispose_public_key"),
        unhappy=("dispose_public_key",),
        on_exception="dispose_public_key",
    )
    def load_private_key(self) -> Step:
        """With a restore config, load its private key (a child machine)."""
        if self._keys_from is None:
            return self.success(self.dispose_public_key)
        keys = self._keys_from.load(self, require_host=True)
        if keys is None:
            return self.success(self.dispose_public_key)
        self.keys = keys
        return self.success(self.decrypt_sample)

    @node(
        happy=("dispose_private_key",),
        unhappy=("dispose_private_key",),
        on_exception="dispose_private_key",
    )
    def decrypt_sample(self) -> Step:
        """Encrypt a sample to the public key and decrypt it with the private key."""
        problem = sample_problem(self.recipients, self.keys)
        if problem is not None:
            return self.failure(self.dispose_private_key, problem)
        return self.success(self.dispose_private_key)

    @node(
        happy=("dispose_public_key",),
        unhappy=("dispose_public_key",),
        on_exception="dispose_public_key",
        cleanup=True,
    )
    def dispose_private_key(self) -> Step:
        """Remove the throw-away keyring holding the private key."""
        self.keys.close()
        return self.success(self.dispose_public_key)

    @node(
        happy=("report_results",),
        unhappy=("report_results",),
        on_exception="report_results",
        cleanup=True,
    )
    def dispose_public_key(self) -> Step:
        """Remove the throw-away keyring holding the public key."""
        self.recipients.close()
        return self.success(self.report_results)


def _expiry_problem(what: str, fingerprint: str, expires: datetime, now: datetime) -> str:
    if expires <= now:
        return f"{what} {fingerprint} expired on {expires.date().isoformat()}"
    days = (expires - now).days
    return (
        f"{what} {fingerprint} expires on {expires.date().isoformat()} (in {days} days): extend "
        "it (gpg --quick-set-expire) and store the new public key"
    )
