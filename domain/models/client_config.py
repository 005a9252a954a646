"""The client's backup configuration (SPEC section 6.2), validated from raw key/value data.

The keys are the Key Vault secret names. Every problem is collected and reported at once in one
ConfigError; secret values are `SecretStr` and never appear in an error.
"""

from __future__ import annotations

import base64
import binascii
import re
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

CLIENT_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class PostgresAuth(StrEnum):
    """How the backup role logs in to PostgreSQL."""

    ENTRA = "entra"
    PASSWORD = "password"  # noqa: S105 - the auth method's name, not a password


class StorageScheme(StrEnum):
    """The kinds of storage a `storage-unc` can name."""

    CIFS = "cifs"
    FILE = "file"


class ClientConfigError(ValueError):
    """Raised by `ClientConfig.from_raw`; one line per problem, no secret values."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _decode_key(value: str) -> bytes:
    try:
        raw = base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("is not valid base64") from exc
    if not raw:
        raise ValueError("is empty")
    return raw


class ClientConfig(BaseModel):
    """Everything one client's backup job needs to know about the client."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    client_name: Annotated[str, Field(alias="client-name", pattern=CLIENT_NAME_PATTERN.pattern)]
    postgresql_host: Annotated[str, Field(alias="postgresql-host", min_length=1)]
    postgresql_port: Annotated[int, Field(alias="postgresql-port", ge=1, le=65535)] = 5432
    postgresql_auth: Annotated[PostgresAuth, Field(alias="postgresql-auth")] = PostgresAuth.ENTRA
    postgresql_service_principal_id: Annotated[
        str | None, Field(alias="postgresql-service-principal-id")
    ] = None
    postgresql_user: Annotated[str | None, Field(alias="postgresql-user")] = None
    postgresql_secret: Annotated[SecretStr, Field(alias="postgresql-secret")]
    postgresql_sslmode: Annotated[
        str | None,
        Field(
            alias="postgresql-sslmode",
            pattern=r"^(disable|allow|prefer|require|verify-ca|verify-full)$",
        ),
    ] = None
    key_name: Annotated[str, Field(alias="key-name", min_length=1)]
    public_key: Annotated[bytes, Field(alias="public-key")]
    escrow_public_key: Annotated[bytes | None, Field(alias="escrow-public-key")] = None
    exclude_databases: Annotated[frozenset[str], Field(alias="exclude-databases")] = frozenset()
    storage_unc: Annotated[str, Field(alias="storage-unc")]
    storage_name: Annotated[str | None, Field(alias="storage-name")] = None
    storage_key: Annotated[SecretStr | None, Field(alias="storage-key")] = None
    end_of_month_retention: Annotated[int, Field(alias="end-of-month-retention")]
    end_of_year_retention: Annotated[int, Field(alias="end-of-year-retention")]

    @field_validator("public_key", "escrow_public_key", mode="before")
    @classmethod
    def _base64(cls, value: object) -> object:
        if value is None or value == "":
            return None
        if isinstance(value, str):
            return _decode_key(value)
        return value

    @field_validator("exclude_databases", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator(
        "postgresql_service_principal_id", "postgresql_user", "storage_name", mode="before"
    )
    @classmethod
    def _empty_is_absent(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator(
        "postgresql_host",
        "postgresql_service_principal_id",
        "postgresql_user",
        "key_name",
        "storage_unc",
        "storage_name",
    )
    @classmethod
    def _no_control_characters(cls, value: str | None) -> str | None:
        # A newline in a host or a name would split every one-line output it appears in, and
        # no host, role, key or share name holds one.
        if value is not None and not value.isprintable():
            raise ValueError("must not contain control characters (a line break, a tab...)")
        return value

    @field_validator("postgresql_host")
    @classmethod
    def _host(cls, value: str) -> str:
        if any(char.isspace() for char in value):
            raise ValueError("must be a host name or address, without spaces")
        return value

    @field_validator("storage_unc")
    @classmethod
    def _storage_url(cls, value: str) -> str:
        if value.startswith("file:///") or re.match(r"^//[^/\s]+/[^/\s]+(/[^\s]*)?$", value):
            return value
        raise ValueError("must be //host/share or file:///path")

    @model_validator(mode="after")
    def _auth_fields(self) -> Self:
        problems = []
        if self.postgresql_auth is PostgresAuth.ENTRA and not self.postgresql_service_principal_id:
            problems.append("postgresql-service-principal-id is required for entra auth")
        if self.postgresql_auth is PostgresAuth.PASSWORD and not self.postgresql_user:
            problems.append("postgresql-user is required for password auth")
        if self.storage_scheme is StorageScheme.CIFS and not (
            self.storage_name and self.storage_key
        ):
            problems.append("storage-name and storage-key are required for a //host/share")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def storage_scheme(self) -> StorageScheme:
        """Return the kind of storage `storage-unc` names."""
        return StorageScheme.FILE if self.storage_unc.startswith("file://") else StorageScheme.CIFS

    @property
    def login_user(self) -> str:
        """Return the PostgreSQL role the backup logs in as."""
        if self.postgresql_auth is PostgresAuth.ENTRA:
            return self.postgresql_service_principal_id or ""
        return self.postgresql_user or ""

    @property
    def sslmode(self) -> str:
        """Return the sslmode: as configured, else `require` for entra and `prefer` otherwise."""
        if self.postgresql_sslmode:
            return self.postgresql_sslmode
        return "require" if self.postgresql_auth is PostgresAuth.ENTRA else "prefer"

    @classmethod
    def secret_keys(cls) -> list[str]:
        """Return the keys whose values are secrets (masked wherever text is shown)."""
        return [
            field.alias or name
            for name, field in cls.model_fields.items()
            if "SecretStr" in str(field.annotation)
        ]

    @classmethod
    def keys(cls) -> list[str]:
        """Return every key a config source is asked for."""
        return [field.alias or name for name, field in cls.model_fields.items()]

    @classmethod
    def from_raw(cls, raw: dict[str, Any], expected_client: str) -> ClientConfig:
        """Validate raw key/value data; raise ClientConfigError listing every problem."""
        problems: list[str] = []
        try:
            config = cls.model_validate(raw)
        except ValidationError as exc:
            problems.extend(_problem(error) for error in exc.errors(include_input=False))
            config = None
        name = raw.get("client-name")
        if isinstance(name, str) and name != expected_client:
            problems.append(
                f"client-name is {name!r} but the job is for {expected_client!r} "
                "(is KEY_VAULT the right vault?)"
            )
        if problems or config is None:
            raise ClientConfigError(problems)
        return config


def _problem(error: ErrorDetails) -> str:
    location = ".".join(str(part) for part in error.get("loc", ())) or "config"
    if error.get("type") == "missing":
        return f"{location} is missing"
    message = str(error.get("msg", "is invalid"))
    message = message.removeprefix("Value error, ")
    return f"{location}: {message}"
