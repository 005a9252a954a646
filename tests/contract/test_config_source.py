"""The ConfigSource contract, run against every adapter.

Each adapter gives a `Stores` that builds a source holding given settings (a dict, a TOML file
written by TomlFileConfigWriter, secrets of the loopback Key Vault double read with the real
Azure SDK) and a source whose store cannot be read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr

from adapters.azure.key_vault import KeyVaultConfigSource
from adapters.files.toml_config import TomlFileConfigSource
from adapters.files.toml_writer import TomlFileConfigWriter
from adapters.memory.config_source import InMemoryConfigSource
from adapters.memory.config_store import InMemoryConfigStore
from domain.models.redaction import Redactor
from ports.config_source import ConfigSource
from ports.errors import ConfigSourceError
from tests.support.azure_double import AzureDouble

SETTINGS = {
    "client-name": "acme",
    "postgresql-host": "db.acme.example",
    "postgresql-port": "5432",
    "exclude-databases": "scratch,old_sales",
    "public-key": "LS0tLS1CRUdJTiBQR1AgUFVCTElDIEtFWS0tLS0t" * 20,
}
TRICKY = {
    "postgresql-secret": 'quote " backslash \\ tab \t équipe = # [x] \u263a',
    "storage-key": "two\nlines",
}


@dataclass(frozen=True)
class Stores:
    """How one adapter builds a source of given settings, and one that cannot be read."""

    holding: Callable[[Mapping[str, str]], ConfigSource]
    broken: Callable[[], ConfigSource]


@pytest.fixture
def memory_stores() -> Stores:
    return Stores(
        holding=InMemoryConfigSource,
        broken=lambda: InMemoryConfigSource({}, error=ConfigSourceError("the store is gone")),
    )


@pytest.fixture
def memory_config_stores() -> Stores:
    return Stores(
        holding=InMemoryConfigStore,
        broken=lambda: InMemoryConfigStore(read_error=ConfigSourceError("the store is gone")),
    )


@pytest.fixture
def toml_stores(tmp_path: Path) -> Stores:
    def holding(values: Mapping[str, str]) -> ConfigSource:
        url = f"file://{tmp_path}/client.toml"
        TomlFileConfigWriter(url).write(values)
        return TomlFileConfigSource(url)

    return Stores(holding, lambda: TomlFileConfigSource(f"file://{tmp_path}/absent.toml"))


@pytest.fixture
def key_vault_stores() -> Iterator[Stores]:
    with AzureDouble() as double:
        client_id, secret = double.add_principal()

        def source() -> ConfigSource:
            return KeyVaultConfigSource(
                vault_url=double.vault_url,
                tenant_id=double.tenant_id,
                client_id=client_id,
                client_secret=lambda: SecretStr(secret),
                redactor=Redactor(),
                authority_host=double.authority_host,
                disable_instance_discovery=True,
                client_options={"connection_verify": str(double.ca_file), "retry_total": 0},
            )

        def holding(values: Mapping[str, str]) -> ConfigSource:
            for name, value in values.items():
                double.set_secret(name, value)
            return source()

        def broken() -> ConfigSource:
            double.vault_missing = True
            return source()

        yield Stores(holding, broken)


@pytest.fixture(
    params=[
        pytest.param("memory_stores", id="memory"),
        pytest.param("memory_config_stores", id="memory-store"),
        pytest.param("toml_stores", id="toml"),
        pytest.param("key_vault_stores", id="key-vault", marks=pytest.mark.integration),
    ]
)
def stores(request: pytest.FixtureRequest) -> Stores:
    """Return each adapter's Stores in turn."""
    built: Stores = request.getfixturevalue(request.param)
    return built


class TestConfigSourceContract:
    def test_read_returns_the_value_of_every_key_asked_for(self, stores: Stores) -> None:
        source = stores.holding(SETTINGS)

        assert source.read(list(SETTINGS)) == SETTINGS

    def test_keys_the_store_does_not_hold_are_left_out(self, stores: Stores) -> None:
        source = stores.holding(SETTINGS)

        values = source.read(["client-name", "postgresql-user", "storage-unc"])

        assert values == {"client-name": "acme"}

    def test_only_the_keys_asked_for_are_returned(self, stores: Stores) -> None:
        source = stores.holding(SETTINGS)

        assert source.read(["postgresql-port"]) == {"postgresql-port": "5432"}

    def test_reading_no_keys_returns_nothing(self, stores: Stores) -> None:
        assert stores.holding(SETTINGS).read([]) == {}

    def test_a_key_asked_for_twice_is_returned_once(self, stores: Stores) -> None:
        source = stores.holding(SETTINGS)

        assert source.read(["client-name", "client-name"]) == {"client-name": "acme"}

    def test_values_come_back_exactly_as_stored(self, stores: Stores) -> None:
        source = stores.holding({**SETTINGS, **TRICKY})

        assert source.read(list(TRICKY)) == TRICKY

    def test_reading_again_returns_the_same_values(self, stores: Stores) -> None:
        source = stores.holding(SETTINGS)

        first = source.read(list(SETTINGS))

        assert source.read(list(SETTINGS)) == first

    def test_a_store_that_cannot_be_read_raises_config_source_error_in_one_line(
        self, stores: Stores
    ) -> None:
        source = stores.broken()

        with pytest.raises(ConfigSourceError) as raised:
            source.read(["client-name"])

        assert "\n" not in str(raised.value)
        assert str(raised.value)
