"""Read a client's configs through their ConfigSource: every key once, secrets masked, validated.

Also where a client's config says its server is (`server_target`).
"""

from __future__ import annotations

from domain.models.client_config import ClientConfig
from domain.models.redaction import Redactor
from domain.models.restore_config import RestoreConfig
from ports.config_source import ConfigSource
from ports.database import ServerTarget


def read_client_config(source: ConfigSource, client: str, redactor: Redactor) -> ClientConfig:
    """Read every client config key once, mask its secrets, and validate the whole.

    Raises:
        ClientConfigError: every problem of the config, at once.
        ConfigSourceError: the store cannot be read.
    """
    raw = source.read(ClientConfig.keys())
    redactor.add(*(raw.get(key) for key in ClientConfig.secret_keys()))
    return ClientConfig.from_raw(raw, client)


def read_restore_config(source: ConfigSource, redactor: Redactor) -> RestoreConfig:
    """Read the restore config once, register its secrets, validate it.

    Raises:
        RestoreConfigError: a key is missing or invalid (every problem listed).
        ConfigSourceError: the restore vault or file cannot be read.
    """
    raw = source.read(RestoreConfig.keys())
    redactor.add(*(raw.get(key) for key in RestoreConfig.secret_keys()))
    config = RestoreConfig.from_raw(raw)
    redactor.add(*(config.private_key_passphrases or ()))
    return config


def server_target(config: ClientConfig) -> ServerTarget:
    """Return how to reach and log in to the client's PostgreSQL server."""
    return ServerTarget(
        host=config.postgresql_host,
        port=config.postgresql_port,
        user=config.login_user,
        auth=str(config.postgresql_auth),
        secret=config.postgresql_secret,
        sslmode=config.sslmode,
    )
