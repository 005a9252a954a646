"""Small models of the operating jobs: the check's policy, a new client, an archive request."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import PurePath

from pydantic import SecretStr

from domain.models.compression import DEFAULT_COMPRESSION

ARCHIVE_FOLDER_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
"""`--folder`: one safe path component; no dot first, so never `.`, `..` or a hidden name."""

PLACEHOLDER_KEY = b"public key, generated later"
"""The public key of a new client's draft config: any non-empty value passes validation."""

KEY_EMAIL_DOMAIN = "long-term-storage.invalid"
"""The e-mail domain of generated user ids: `.invalid` (RFC 2606) marks it as no mailbox."""


@dataclass(frozen=True, slots=True)
class CheckPolicy:
    """What the check job judges by (from the master config)."""

    exclude_everywhere: frozenset[str] = field(default_factory=frozenset)
    timezone: str = "UTC"
    period_offset_months: int = 0
    key_warning: timedelta = timedelta(days=90)
    compression: str = DEFAULT_COMPRESSION
    """`[backup] compression`: with `zstd:N`, pg_dump's check needs zstd."""
    drill_max_age: timedelta | None = None
    """`[check] drill_max_age_days`: the newest complete run must be drilled within it."""


@dataclass(frozen=True, slots=True)
class NewClient:
    """Everything create_client writes into a new client's backup config, except its key.

    Secrets are read by the entry point from files or a hidden prompt, never from the command
    line. `storage_key` is needed for a `//host/share` only.
    """

    client_name: str
    postgresql_host: str
    postgresql_secret: SecretStr
    storage_unc: str
    end_of_month_retention: int
    end_of_year_retention: int
    postgresql_port: int = 5432
    postgresql_auth: str = "entra"
    postgresql_user: str | None = None
    postgresql_service_principal_id: str | None = None
    postgresql_sslmode: str | None = None
    storage_name: str | None = None
    storage_key: SecretStr | None = None
    exclude_databases: tuple[str, ...] = ()
    escrow_public_key: bytes | None = None

    def backup_values(self, public_key: bytes) -> dict[str, SecretStr | str]:
        """Return the backup config's keys and values (SPEC 6.2) with `public_key` in it."""
        values: dict[str, SecretStr | str | None] = {
            "client-name": self.client_name,
            "postgresql-host": self.postgresql_host,
            "postgresql-port": str(self.postgresql_port),
            "postgresql-auth": self.postgresql_auth,
            "postgresql-service-principal-id": self.postgresql_service_principal_id,
            "postgresql-user": self.postgresql_user,
            "postgresql-secret": self.postgresql_secret,
            "postgresql-sslmode": self.postgresql_sslmode,
            "key-name": self.key_name,
            "public-key": base64.b64encode(public_key).decode("ascii"),
            "escrow-public-key": (
                base64.b64encode(self.escrow_public_key).decode("ascii")
                if self.escrow_public_key
                else None
            ),
            "exclude-databases": ",".join(self.exclude_databases) or None,
            "storage-unc": self.storage_unc,
            "storage-name": self.storage_name,
            "storage-key": self.storage_key,
            "end-of-month-retention": str(self.end_of_month_retention),
            "end-of-year-retention": str(self.end_of_year_retention),
        }
        # Absent options are left out: a vault cannot hold an empty secret.
        return {key: value for key, value in values.items() if value is not None}

    def draft_values(self) -> dict[str, str]:
        """Return the backup config as plain values with a placeholder public key.

        The onboarding job validates and mounts with it before any key or config is made, so
        that a config the backup job would refuse writes nothing.
        """
        return {
            key: value.get_secret_value() if isinstance(value, SecretStr) else value
            for key, value in self.backup_values(PLACEHOLDER_KEY).items()
        }

    @property
    def key_name(self) -> str:
        """Return the `key-name` of the generated key: the client's name."""
        return self.client_name

    @property
    def key_user_id(self) -> str:
        """Return the user id of the generated key."""
        return f"{self.client_name} <{self.client_name}@{KEY_EMAIL_DOMAIN}>"


@dataclass(frozen=True, slots=True)
class ArchiveRequest:
    """One local file to archive, and the archive folder (None: the current `YYYY-MM`)."""

    file: PurePath
    folder: str | None = None
