"""The fleet file of the report job, and the config source of each of its clients (SPEC 16).

FLEET_FILE is TOML with one `[[client]]` table per client: `name`, `eoy_month`, `key_vault`,
`client_id`, `client_secret` (a Fernet token, as on the command line; `-` for a `file://`
config), and optionally `tenant_id` and `authority_host`. Every value is checked as the jobs
check their command line; the first problem is one line (FleetError), and nothing is visited.
"""

from __future__ import annotations

import argparse
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path

from adapters.fernet.cipher import FernetSecretCipher, FernetTokenSecret
from adapters.files.toml_config import TomlFileConfigSource
from domain.models.fleet import ClientStore, FleetClient
from entrypoints.args import NOT_USED, client_name, config_url, eoy_month
from ports.config_opener import ConfigOpener
from ports.config_source import ConfigSource
from ports.errors import ConfigSourceError

REQUIRED = ("name", "eoy_month", "key_vault", "client_id", "client_secret")
OPTIONAL = ("tenant_id", "authority_host")
MAX_FLEET_BYTES = 4 * 1024 * 1024


class FleetError(ValueError):
    """The fleet file is missing, not TOML, or holds a bad client table: one line."""


def read_fleet(path: Path) -> tuple[FleetClient, ...]:
    """Return the clients of a fleet file, in file order.

    Raises:
        FleetError: the first problem, in one line naming the client table.
    """
    try:
        if path.stat().st_size > MAX_FLEET_BYTES:
            raise FleetError(f"{path} is larger than {MAX_FLEET_BYTES} bytes")
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise FleetError(f"{path} is not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise FleetError(f"{path} cannot be read ({reason})") from None
    return parse_fleet(document)


def parse_fleet(document: Mapping[str, object]) -> tuple[FleetClient, ...]:
    """Return the clients of a parsed fleet document.

    Raises:
        FleetError: unknown top-level keys, no client, a bad client table, a duplicate name.
    """
    unknown = sorted(set(document) - {"client"})
    if unknown:
        raise FleetError(f"unknown top-level key {unknown[0]!r} (only [[client]] tables)")
    tables = document.get("client")
    if not isinstance(tables, list) or not tables:
        raise FleetError("no [[client]] table: the fleet has no client")
    clients: list[FleetClient] = []
    seen: set[str] = set()
    for number, table in enumerate(tables, start=1):
        client = _client(number, table)
        if client.name in seen:
            raise FleetError(f"client {number}: the name {client.name!r} appears twice")
        seen.add(client.name)
        clients.append(client)
    return tuple(clients)


def _client(number: int, table: object) -> FleetClient:
    where = f"client {number}"
    if not isinstance(table, dict):
        raise FleetError(f"{where} is not a table")
    if isinstance(table.get("name"), str):
        where = f"client {number} ({table['name']})"
    unknown = sorted(set(table) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise FleetError(f"{where}: unknown key {unknown[0]!r}")
    missing = [key for key in REQUIRED if key not in table]
    if missing:
        raise FleetError(f"{where}: missing {', '.join(missing)}")
    text = {
        key: table[key] for key in (*REQUIRED, *OPTIONAL) if key in table and key != "eoy_month"
    }
    for key, value in text.items():
        if not isinstance(value, str):
            raise FleetError(f"{where}: {key} must be a string")
    month = table["eoy_month"]
    if not isinstance(month, int) or isinstance(month, bool):
        raise FleetError(f"{where}: eoy_month must be a month number 1..12, not {month!r}")
    try:
        name = client_name(str(text["name"]))
        month = eoy_month(str(month))
        url = config_url(str(text["key_vault"]))
    except argparse.ArgumentTypeError as exc:
        raise FleetError(f"{where}: {exc}") from None
    client_id, secret = str(text["client_id"]), str(text["client_secret"])
    if url.startswith("https://") and NOT_USED in (client_id, secret):
        raise FleetError(f"{where}: an https:// key_vault needs client_id and client_secret")
    authority = text.get("authority_host")
    if authority is not None and not str(authority).startswith("https://"):
        raise FleetError(f"{where}: authority_host must be an https:// URL")
    store = ClientStore(
        url=url,
        client_id=client_id,
        client_secret=secret,
        tenant_id=str(text["tenant_id"]) if "tenant_id" in text else None,
        authority_host=str(authority) if authority is not None else None,
    )
    return FleetClient(name=name, eoy_month=month, store=store)


class SchemeConfigOpener(ConfigOpener):
    """Build each client's config source with the factory registered for its URL scheme."""

    def __init__(self, by_scheme: Mapping[str, Callable[[ClientStore], ConfigSource]]) -> None:
        self.by_scheme = dict(by_scheme)

    def open(self, store: ClientStore) -> ConfigSource:
        """Return the source of `store`."""
        factory = self.by_scheme.get(store.scheme)
        if factory is None:
            raise ConfigSourceError(f"no config source for '{store.scheme}://...'")
        return factory(store)


def toml_source(store: ClientStore) -> ConfigSource:
    """Return the TOML file source of a `file://` store."""
    return TomlFileConfigSource(url=store.url)


class KeyVaultSources:
    """Build a Key Vault source per client: its vault, its principal, its Fernet token."""

    def __init__(
        self, *, key_vault: Callable[..., ConfigSource], cipher: FernetSecretCipher
    ) -> None:
        self._key_vault = key_vault
        self._cipher = cipher

    def __call__(self, store: ClientStore) -> ConfigSource:
        """Return the Key Vault source of an `https://` store (nothing is read yet)."""
        overrides: dict[str, str] = {}
        if store.tenant_id is not None:
            overrides["tenant_id"] = store.tenant_id
        if store.authority_host is not None:
            overrides["authority_host"] = store.authority_host
        return self._key_vault(
            vault_url=store.url,
            client_id=store.client_id,
            client_secret=FernetTokenSecret(self._cipher, store.client_secret),
            **overrides,
        )
