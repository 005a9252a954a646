"""Turn a ServerTarget's secret into the password a PostgreSQL login needs.

`password` auth uses the secret as it is; `entra` auth exchanges the service principal's client
secret for a Microsoft Entra ID access token (SPEC 9), fresh for every connection because tokens
expire after about an hour and a long run outlives one. The Azure SDK is imported only when a
token is asked for. Tested against the real server (password) and the Entra ID double (entra).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from typing import Any, Protocol

from pydantic import SecretStr

from adapters.process.text import one_line
from domain.models.redaction import Redactor
from ports.database import ServerTarget
from ports.errors import DatabaseError

ENTRA_SCOPE = "https://ossrdbms-aad.database.windows.net/.default"
DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"


class Credentials(Protocol):
    """A source of the password for one PostgreSQL login.

    Raises DatabaseError with a one-line, secret-free reason when no password can be had.
    """

    @abstractmethod
    def password(self, target: ServerTarget) -> SecretStr:
        """Return the password to log in to `target` with, fresh for this connection."""


class PasswordCredentials(Credentials):
    """The target's secret is the password."""

    def password(self, target: ServerTarget) -> SecretStr:
        """Return the target's secret."""
        return target.secret


class EntraTokenCredentials(Credentials):
    """An Entra ID access token for the service principal `target.user` is the password.

    Args:
        tenant_id: the Entra ID tenant.
        authority_host: the Entra ID authority (SPEC 5, `--authority_host`).
        disable_instance_discovery: for private clouds and test doubles.
        client_options: more keyword options of azure-identity's ClientSecretCredential,
            for example `connection_timeout`, `retry_total` or `connection_verify` (a CA file).
    """

    def __init__(
        self,
        tenant_id: str | None,
        authority_host: str = DEFAULT_AUTHORITY_HOST,
        *,
        disable_instance_discovery: bool = False,
        client_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.authority_host = authority_host
        self.disable_instance_discovery = disable_instance_discovery
        self.client_options = dict(client_options or {})

    def password(self, target: ServerTarget) -> SecretStr:
        """Return a new access token for the PostgreSQL scope."""
        # Imported here: the Azure SDK is slow to import and needed only for entra auth.
        from azure.core.exceptions import AzureError
        from azure.identity import ClientSecretCredential

        if not self.tenant_id:
            raise DatabaseError(
                f"cannot get an Entra ID token for {target.user}: no tenant; pass --tenant_id "
                "or set [azure] tenant_id in the master config"
            )
        secret = target.secret.get_secret_value()
        try:
            with ClientSecretCredential(
                self.tenant_id,
                client_id=target.user,
                client_secret=secret,
                authority=self.authority_host,
                disable_instance_discovery=self.disable_instance_discovery,
                **self.client_options,
            ) as credential:
                token = credential.get_token(ENTRA_SCOPE).token
        except (AzureError, ValueError) as exc:
            reason = one_line(str(exc) or type(exc).__name__, Redactor([secret]))
            raise DatabaseError(
                f"cannot get an Entra ID token for {target.user} in tenant {self.tenant_id}: "
                f"{reason}"
            ) from None
        return SecretStr(token)


class CredentialsByAuth(Credentials):
    """Pick the credentials by `target.auth` (`password` or `entra`)."""

    def __init__(self, by_auth: Mapping[str, Credentials]) -> None:
        self.by_auth = dict(by_auth)

    def password(self, target: ServerTarget) -> SecretStr:
        """Return the password from the credentials registered for `target.auth`."""
        try:
            credentials = self.by_auth[target.auth]
        except KeyError:
            known = ", ".join(sorted(self.by_auth))
            raise DatabaseError(
                f"unknown postgresql-auth {target.auth!r}; expected one of: {known}"
            ) from None
        return credentials.password(target)
