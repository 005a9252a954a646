"""What the restore, decrypt, verify and drill machines talk through, and where they restore to."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr

from domain.models.client_config import ClientConfig
from domain.models.restore_request import RestoreRequest
from domain.services.configs import server_target
from domain.services.reading import PlainReader
from ports.archive_reader import ArchiveReader
from ports.clock import Clock
from ports.database import ServerTarget
from ports.decompressor import Decompressor
from ports.decryptor import DecryptionKeys, Decryptor
from ports.local_files import LocalFiles
from ports.restorer import OPERATOR_AUTH, Restorer, RestoreTarget

OPERATOR_SSLMODE = "prefer"


@dataclass(frozen=True, slots=True)
class RestorePorts:
    """The ports the restore, decrypt and verify machines talk through, besides the share."""

    decryptor: Decryptor
    restorer: Restorer
    archives: ArchiveReader
    files: LocalFiles
    clock: Clock
    decompressor: Decompressor

    def plain_reader(self, keys: DecryptionKeys) -> PlainReader:
        """Return what reads stored files back to plaintext with `keys` (reading.py)."""
        return PlainReader(keys, self.decompressor)


def restore_target(config: ClientConfig, request: RestoreRequest) -> RestoreTarget:
    """Return the target: the client's server and login, or the operator's choice."""
    if not request.other_target:
        return RestoreTarget(server_target(config), request.target_database)
    server = operator_server(config, request.target_host, request.target_port, request.target_user)
    return RestoreTarget(server, request.target_database)


def operator_server(
    config: ClientConfig, host: str | None, port: int | None, user: str | None
) -> ServerTarget:
    """Return a server the operator named; libpq finds the password (PGPASSWORD, ~/.pgpass).

    What the operator left out is the client's: its host, port and login.
    """
    return ServerTarget(
        host=host or config.postgresql_host,
        port=port or config.postgresql_port,
        user=user or config.login_user,
        auth=OPERATOR_AUTH,
        secret=SecretStr(""),
        sslmode=OPERATOR_SSLMODE,
    )
