"""KeyVaultConfigSource: a client's settings as secrets of an Azure Key Vault.

SPEC sections 5.1, 6.2 and 9: the job logs in to Entra ID as the client's service principal
(client id and a secret that arrives as a Fernet token on the command line; the container passes
a callable that decrypts it, called only when the vault is first used) and reads every setting
once. The Azure SDK is imported only when the vault is used, so importing this module
(and the container) never imports Azure. Tested against a loopback HTTPS double of Entra ID and
Key Vault in tests/integration/test_key_vault_config_source.py, with the real SDK.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import partial
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from adapters.azure.reasons import network_reason, short_reason
from adapters.azure.session import LoginGuard, VaultSession
from domain.models.redaction import Redactor
from ports.config_source import ConfigSource
from ports.config_writer import ConfigWriter
from ports.errors import ConfigSourceError

if TYPE_CHECKING:
    from azure.core.exceptions import HttpResponseError

CLIENT_NAME_KEY = "client-name"
"""The secret that marks a vault as holding one client's settings (SPEC 6.2)."""

SDK_LOGGERS = ("azure", "msal")
"""Their INFO and DEBUG records describe requests (URLs, headers); only warnings are kept."""

HTTP_FORBIDDEN = 403
HTTP_NOT_FOUND = 404
_ACTION = re.compile(r"Action: '([^']+)'")
_FIREWALL_CODES = frozenset({"ForbiddenByFirewall", "ForbiddenByConnection"})

DEFAULT_CLIENT_OPTIONS: Mapping[str, Any] = MappingProxyType(
    {"connection_timeout": 30, "read_timeout": 60, "retry_total": 3}
)
"""The SDK would wait 300 s a call and retry 10 times; these match the master config's `[azure]`."""


class KeyVaultConfigSource(ConfigSource, ConfigWriter):
    """Read (and, for onboarding, write) a client's settings as Key Vault secrets.

    The client secret is asked for only when a read or write needs it; every secret the adapter
    sees (the client secret and every value written) is registered with the Redactor. Errors are
    ConfigSourceError with one line that names the vault or the authority, never a secret.

    Args:
        vault_url: the vault (`KEY_VAULT`, `https://<name>.vault.azure.net`).
        tenant_id: the Entra ID tenant; None is reported when the vault is used.
        client_id: the service principal's application id (`CLIENT_ID`).
        client_secret: returns the service principal's secret; called each time the vault is
            used, never at construction (its errors, a SecretError for a wrong Fernet key say,
            pass unchanged).
        redactor: learns the client secret and the secret values written.
        authority_host: the Entra ID authority (`--authority_host`).
        disable_instance_discovery: skip Entra ID's instance discovery (private clouds, the
            test double).
        client_options: keyword options of the Azure SDK clients, given to both the token
            credential and the SecretClient (the same mapping the Entra ID credential of
            PostgreSQL gets): `connection_timeout`, `read_timeout`, `retry_total`,
            `connection_verify` and so on. Options left out take DEFAULT_CLIENT_OPTIONS.
        max_workers: how many secrets are read at once.
    """

    def __init__(
        self,
        *,
        vault_url: str,
        tenant_id: str | None,
        client_id: str,
        client_secret: Callable[[], SecretStr],
        redactor: Redactor,
        authority_host: str = "https://login.microsoftonline.com",
        disable_instance_discovery: bool = False,
        client_options: Mapping[str, Any] | None = None,
        max_workers: int = 8,
    ) -> None:
        self.vault_url = vault_url.rstrip("/")
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.redactor = redactor
        self.authority_host = authority_host.rstrip("/")
        self.disable_instance_discovery = disable_instance_discovery
        self.client_options: dict[str, Any] = {**DEFAULT_CLIENT_OPTIONS, **(client_options or {})}
        self.max_workers = max(1, max_workers)

    # ------------------------------------------------------------ the port

    def read(self, keys: Sequence[str]) -> dict[str, str]:
        """Return the values of those `keys` the vault holds, reading each secret once.

        Raises:
            SecretError: The client secret cannot be had (its token does not decrypt).
            ConfigSourceError: The login or the vault fails.
        """
        names = list(dict.fromkeys(keys))
        if not names:
            return {}
        with self._session("read") as session:
            values = session.run(session.get, names)
        return {name: value for name, value in zip(names, values, strict=True) if value is not None}

    # ------------------------------------------------------------ onboarding

    def holds_config(self) -> bool:
        """Tell whether the vault already holds a client's settings (the secret `client-name`).

        Raises:
            SecretError: The client secret cannot be had (its token does not decrypt).
            ConfigSourceError: The login or the vault fails.
        """
        with self._session("read") as session:
            return session.exists(CLIENT_NAME_KEY)

    def write(self, values: Mapping[str, SecretStr | str], *, overwrite: bool = False) -> None:
        """Store `values` as secrets (a new version of each), `client-name` last.

        `client-name` marks a vault as a client's: a vault that already holds it is refused
        unless `overwrite` is true, so onboarding never replaces another client's settings.
        Writing it last means an interrupted write leaves a vault that is visibly incomplete.

        Raises:
            SecretError: The client secret cannot be had (its token does not decrypt).
            ConfigSourceError: The vault already holds a client (without `overwrite`), or the
                login or the vault fails.
        """
        plain = {
            name: value.get_secret_value() if isinstance(value, SecretStr) else value
            for name, value in values.items()
        }
        # Only the secret values are masked: ordinary ones (the client name) must stay readable.
        self.redactor.add(*(v for v in values.values() if isinstance(v, SecretStr)))
        with self._session("write") as session:
            if not overwrite and session.get(CLIENT_NAME_KEY) is not None:
                raise ConfigSourceError(
                    f"Key Vault {self.vault_url} already holds a client's settings "
                    f"(secret {CLIENT_NAME_KEY}); refusing to overwrite them"
                )
            others = [(name, value) for name, value in plain.items() if name != CLIENT_NAME_KEY]
            session.run(session.set, others)
            if CLIENT_NAME_KEY in plain:
                session.set((CLIENT_NAME_KEY, plain[CLIENT_NAME_KEY]))

    # ------------------------------------------------------------ the SDK

    @contextmanager
    def _session(self, verb: str) -> Iterator[VaultSession]:
        secret = self.client_secret()
        self.redactor.add(secret)
        _quiet_sdk_loggers()
        if not self.tenant_id:
            raise ConfigSourceError(
                f"cannot read Key Vault {self.vault_url}: no Entra ID tenant; pass --tenant_id "
                "or set [azure] tenant_id in the master config"
            )
        # Imported here, not at module level: importing the adapter must not import Azure.
        from azure.identity import ClientSecretCredential
        from azure.keyvault.secrets import SecretClient

        credential = ClientSecretCredential(
            self.tenant_id,
            self.client_id,
            secret.get_secret_value(),
            authority=self.authority_host,
            disable_instance_discovery=self.disable_instance_discovery,
            **self.client_options,
        )
        guard = LoginGuard(credential)
        client = SecretClient(self.vault_url, guard, **self.client_options)
        session = VaultSession(client, guard, partial(self._error, verb), self.max_workers)
        try:
            yield session
        finally:
            client.close()
            credential.close()

    def _error(self, verb: str, error: Exception, login_failure: Exception | None) -> Exception:
        """Return the one-line ConfigSourceError for an SDK exception."""
        if login_failure is not None:
            reason = short_reason(login_failure, self.redactor)
            return ConfigSourceError(
                f"cannot log in to Entra ID at {self.authority_host} as {self.client_id}: {reason}"
            )
        return ConfigSourceError(
            f"cannot {verb} Key Vault {self.vault_url}: {self._vault_reason(verb, error)}"
        )

    def _vault_reason(self, verb: str, error: Exception) -> str:
        from azure.core.exceptions import (
            HttpResponseError,
            ServiceRequestError,
            ServiceResponseError,
        )

        if isinstance(error, HttpResponseError) and error.status_code == HTTP_FORBIDDEN:
            return self._forbidden_reason(verb, error)
        if isinstance(error, HttpResponseError) and error.status_code == HTTP_NOT_FOUND:
            return "no vault answers at this address (HTTP 404)"
        network = network_reason(error)
        if network == "timed out" and isinstance(error, ServiceResponseError):
            return f"no answer within {self.client_options['read_timeout']:g} s"
        if network == "timed out" and isinstance(error, ServiceRequestError):
            return f"no connection within {self.client_options['connection_timeout']:g} s"
        if network is not None:
            return network
        reason = short_reason(error, self.redactor)
        if isinstance(error, HttpResponseError) and error.status_code is not None:
            return f"HTTP {error.status_code}: {reason}"
        return reason

    def _forbidden_reason(self, verb: str, error: HttpResponseError) -> str:
        inner = getattr(getattr(error.error, "innererror", None), "get", None)
        inner_code = inner("code") if callable(inner) else None
        if inner_code in _FIREWALL_CODES:
            return "the vault's network rules do not admit this host (HTTP 403)"
        found = _ACTION.search(str(error))
        permission = "Get" if verb == "read" else "Get and Set"
        role = "Key Vault Secrets User" if verb == "read" else "Key Vault Secrets Officer"
        action = f", action {found[1]}" if found else ""
        return (
            f"{self.client_id} may not {verb} secrets (HTTP 403{action}); grant it the {role} "
            f"role or the secret permission {permission}"
        )


def _quiet_sdk_loggers() -> None:
    """Raise the Azure SDK's and MSAL's loggers to WARNING, never lowering a stricter level."""
    for name in SDK_LOGGERS:
        sdk_logger = logging.getLogger(name)
        if sdk_logger.getEffectiveLevel() < logging.WARNING:
            sdk_logger.setLevel(logging.WARNING)
