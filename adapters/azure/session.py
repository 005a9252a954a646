"""One login to Entra ID and one Key Vault SecretClient, used by one read or write of the vault.

Every SDK failure leaves as the one-line error its `translate` makes; a refused login is told
apart from a refused vault request by the credential wrapper that remembers its own failure.
Tested through KeyVaultConfigSource (tests/integration/test_key_vault_config_source.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken, AccessTokenInfo, TokenRequestOptions
    from azure.identity import ClientSecretCredential
    from azure.keyvault.secrets import SecretClient

T = TypeVar("T")
R = TypeVar("R")

Translate = Callable[[Exception, Exception | None], Exception]
"""Turn an SDK exception (and the login failure behind it, if any) into the error to raise."""


class VaultSession:
    """One login and one SecretClient, used by one read or write.

    Args:
        client: the SecretClient, logged in through `guard`.
        guard: the credential that remembers a failed login.
        translate: makes the one-line error of an SDK exception.
        max_workers: how many secrets `run` handles at once.
    """

    def __init__(
        self, client: SecretClient, guard: LoginGuard, translate: Translate, max_workers: int
    ) -> None:
        self.client = client
        self.guard = guard
        self.translate = translate
        self.max_workers = max(1, max_workers)

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
        workers = min(self.max_workers, len(items) - 1)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="key-vault") as pool:
            futures = [pool.submit(function, item) for item in items[1:]]
            try:
                rest = [future.result() for future in futures]
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        return [first, *rest]

    def _translate(self, error: Exception) -> Exception:
        return self.translate(error, self.guard.failure)


class LoginGuard:
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
