"""KeyVaultConfigSource: a client's settings as secrets of an Azure Key Vault.

SPEC sections 5.1, 6.2 and 9: the job logs in to Entra ID as the client's service principal
(client id and a secret that arrives as a Fernet token on the command line) and reads every
setting once. The Azure SDK is imported only when the vault is used, so importing this module
(and the container) never imports Azure. Tested against a loopback HTTPS double of Entra ID and
Key Vault in tests/integration/test_key_vault_config_source.py, with the real SDK.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import SecretStr

from adapters.azure.reasons import network_reason, short_reason
from domain.models.redaction import Redactor
from ports.config_source import ConfigSource
from ports.config_writer import ConfigWriter
from ports.errors import ConfigSourceError
from ports.secret_cipher import SecretCipher

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken, AccessTokenInfo, TokenRequestOptions
    from azure.core.exceptions import HttpResponseError
    from azure.identity import ClientSecretCredential
    from azure.keyvault.secrets import SecretClient

T = TypeVar("T")
R = TypeVar("R")

CLIENT_NAME_KEY = "client-name"
"""The secret that marks a vault as holding one client's settings (SPEC 6.2)."""

SDK_LOGGERS = ("azure", "msal")
"""Their INFO and DEBUG records describe requests (URLs, headers); only warnings are kept."""

HTTP_FORBIDDEN = 403
HTTP_NOT_FOUND = 404
_ACTION = re.compile(r"Action: '([^']+)'")
_FIREWALL_CODES = frozenset({"ForbiddenByFirewall", "ForbiddenByConnection"})

logger = logging.getLogger(__name__)


class KeyVaultConfigSource(ConfigSource, ConfigWriter):
    """Read (and, for onboarding, write) a client's settings as Key Vault secrets.

    The client secret stays a Fernet token until a read or write needs it; every secret the
    adapter sees (the client secret and every value) is registered with the Redactor. Errors are
    ConfigSourceError with one line that names the vault or the authority, never a secret.
    """

    def __init__(
        self,
        *,
        vault_url: str,
        tenant_id: str | None,
        client_id: str,
        client_secret_token: str,
        cipher: SecretCipher,
        redactor: Redactor,
        authority_host: str = "https://login.microsoftonline.com",
        disable_instance_discovery: bool = False,
        connection_timeout: float = 30,
        read_timeout: float = 60,
        retries: int = 3,
        max_workers: int = 8,
        connection_verify: str | bool | None = None,
    ) -> None:
        self.vault_url = vault_url.rstrip("/")
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.client_secret_token = client_secret_token
        self.cipher = cipher
        self.redactor = redactor
        self.authority_host = authority_host.rstrip("/")
        self.disable_instance_discovery = disable_instance_discovery
        self.connection_timeout = connection_timeout
        self.read_timeout = read_timeout
        self.retries = retries
        self.max_workers = max(1, max_workers)
        self.connection_verify = connection_verify

    # ------------------------------------------------------------ the port

    def read(self, keys: Sequence[str]) -> dict[str, str]:
        """Return the values of those `keys` the vault holds, reading each secret once.

        Raises:
            SecretError: The client secret token cannot be decrypted.
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
            SecretError: The client secret token cannot be decrypted.
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
            SecretError: The client secret token cannot be decrypted.
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
    def _session(self, verb: str) -> Iterator[_Session]:
        secret = self.cipher.decrypt(self.client_secret_token)
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

        transport: dict[str, Any] = {
            "connection_timeout": self.connection_timeout,
            "read_timeout": self.read_timeout,
            "retry_total": self.retries,
        }
        if self.connection_verify is not None:
            transport["connection_verify"] = self.connection_verify
        credential = ClientSecretCredential(
            self.tenant_id,
            self.client_id,
            secret.get_secret_value(),
            authority=self.authority_host,
            disable_instance_discovery=self.disable_instance_discovery,
            **transport,
        )
        guard = _LoginGuard(credential)
        client = SecretClient(self.vault_url, guard, **transport)
        session = _Session(self, verb, client, guard)
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
            return f"no answer within {self.read_timeout:g} s"
        if network == "timed out" and isinstance(error, ServiceRequestError):
            return f"no connection within {self.connection_timeout:g} s"
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


class _Session:
    """One login and one SecretClient, used by one read or write."""

    def __init__(
        self,
        source: KeyVaultConfigSource,
        verb: str,
        client: SecretClient,
        guard: _LoginGuard,
    ) -> None:
        self.source = source
        self.verb = verb
        self.client = client
        self.guard = guard

    def get(self, name: str) -> str | None:
        """Return the value of secret `name`, or None when the vault has no such secret."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            value = self.client.get_secret(name).value
        except ResourceNotFoundError as error:
            # A 404 without Key Vault's error code comes from something that is no vault.
            if error.error is not None and error.error.code == "SecretNotFound":
                return None
            raise self._translate(error) from None
        except Exception as error:  # noqa: BLE001 - every SDK failure becomes one line
            raise self._translate(error) from None
        # The caller knows which keys hold secrets and registers those (ClientConfig.secret_keys).
        return value

    def exists(self, name: str) -> bool:
        """Tell whether the vault holds secret `name`, without keeping its value."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            self.client.get_secret(name)
        except ResourceNotFoundError as error:
            if error.error is not None and error.error.code == "SecretNotFound":
                return False
            raise self._translate(error) from None
        except Exception as error:  # noqa: BLE001 - every SDK failure becomes one line
            raise self._translate(error) from None
        return True

    def set(self, item: tuple[str, str]) -> None:
        """Store a new version of secret `item[0]` holding `item[1]`."""
        name, value = item
        try:
            self.client.set_secret(name, value)
        except Exception as error:  # noqa: BLE001 - every SDK failure becomes one line
            raise self._translate(error) from None

    def run(self, function: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """Return `[function(item) for item in items]`, computed concurrently.

        The first item goes alone: it meets the vault's authentication challenge and the login,
        so a bad login fails once instead of once per worker, and the rest reuse its token.
        """
        if not items:
            return []
        first = function(items[0])
        if len(items) == 1:
            return [first]
        workers = min(self.source.max_workers, len(items) - 1)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="key-vault") as pool:
            futures = [pool.submit(function, item) for item in items[1:]]
            try:
                rest = [future.result() for future in futures]
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        return [first, *rest]

    def _translate(self, error: Exception) -> Exception:
        return self.source._error(self.verb, error, self.guard.failure)


class _LoginGuard:
    """A credential that remembers its own failure, so a login error is reported as one.

    The SecretClient calls the credential inside its pipeline; without this, a refused login
    and a refused vault request would be hard to tell apart.
    """

    def __init__(self, credential: ClientSecretCredential) -> None:
        self.credential = credential
        self.failure: Exception | None = None

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: object,
    ) -> AccessToken:
        """Return a token from the wrapped credential, remembering a failure."""
        try:
            return self.credential.get_token(
                *scopes, claims=claims, tenant_id=tenant_id, enable_cae=enable_cae, **kwargs
            )
        except Exception as error:
            self.failure = error
            raise

    def get_token_info(
        self, *scopes: str, options: TokenRequestOptions | None = None
    ) -> AccessTokenInfo:
        """Return a token and its details from the wrapped credential, remembering a failure."""
        try:
            return self.credential.get_token_info(*scopes, options=options)
        except Exception as error:
            self.failure = error
            raise


def _quiet_sdk_loggers() -> None:
    """Raise the Azure SDK's and MSAL's loggers to WARNING, never lowering a stricter level."""
    for name in SDK_LOGGERS:
        sdk_logger = logging.getLogger(name)
        if sdk_logger.getEffectiveLevel() < logging.WARNING:
            sdk_logger.setLevel(logging.WARNING)
