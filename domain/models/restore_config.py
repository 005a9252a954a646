"""The client's restore configuration (SPEC section 6.3), validated from raw key/value data.

It lives in a separate, more restricted vault (or `file://` TOML) than the backup config: the
private key that opens every backup of the client and its passphrase. Every problem is reported
at once in one RestoreConfigError; secret values never appear in it.

`private-key` may hold several secret keys (one armoured export of several, or several armoured
exports one after the other), so that runs encrypted before and after a key change both open
(SPEC 14). They share `private-key-passphrase`, or each has its own in
`private-key-passphrases`, in the keys' order: a JSON list of strings stored as one string (a
Key Vault secret's value, or a TOML string: `private-key-passphrases = '["first", "second"]'`).
One passphrase per line, or a TOML array (which the file source reads comma-joined), work too
when no passphrase holds a newline or a comma.
"""

from __future__ import annotations

import base64
import binascii
import json
import posixpath
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_core import ErrorDetails

PRIVATE_KEY = "private-key"
PASSPHRASE = "private-key-passphrase"  # noqa: S105 - a key name, not a passphrase
PASSPHRASES = "private-key-passphrases"
BACKUP_CONFIG_HOST = "backup-config-host"


class RestoreConfigError(ValueError):
    """Raised by `RestoreConfig.from_raw`; one problem per item, no secret values."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class KeyPassphrases:
    """The passphrases of the restore config's private keys: one shared, or one per key."""

    shared: SecretStr
    each: tuple[SecretStr, ...] | None = None

    def for_keys(self, count: int) -> tuple[SecretStr, ...]:
        """Return one passphrase per key, in the keys' order.

        Raises:
            ValueError: `private-key-passphrases` does not list one passphrase per key.
        """
        if self.each is None:
            return (self.shared,) * count
        if len(self.each) != count:
            raise ValueError(
                f"private-key holds {count} secret key{'s' if count != 1 else ''} but "
                f"{PASSPHRASES} lists {len(self.each)}; give one passphrase per key, in order"
            )
        return self.each


class RestoreConfig(BaseModel):
    """What restoring a client's backups needs: the private key and its passphrase.

    `private-key` is base64 of the armoured (or binary) OpenPGP secret key; an empty
    `private-key-passphrase` means the key is not protected. `backup-config-host` names the
    client's backup-config store (its KEY_VAULT): every job that loads the key refuses a restore
    config that names another store (`belongs_to`); older restore configs without it are
    accepted with a warning, and `check` reports them (docs/restore.md).
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    private_key: Annotated[SecretStr, Field(alias=PRIVATE_KEY)]
    private_key_passphrase: Annotated[SecretStr, Field(alias=PASSPHRASE)]
    backup_config_host: Annotated[str | None, Field(alias=BACKUP_CONFIG_HOST)] = None
    private_key_passphrases: Annotated[
        tuple[SecretStr, ...] | None, Field(alias=PASSPHRASES, min_length=1)
    ] = None

    @field_validator("private_key", mode="before")
    @classmethod
    def _base64(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        try:
            raw = base64.b64decode("".join(value.split()), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("is not valid base64") from None
        if not raw:
            raise ValueError("is empty")
        # Kept as text: an armoured key is ASCII; a binary key survives as latin-1.
        return raw.decode("latin-1")

    @field_validator("private_key_passphrases", mode="before")
    @classmethod
    def _json_list(cls, value: object) -> object:
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            return value
        if not value.lstrip().startswith("["):
            # One per line (a Key Vault secret typed by hand), or comma-joined (a TOML array,
            # as the file source reads it). Each passphrase is proven by unlocking its key, so
            # a list split wrongly is an error, never a silent mistake.
            lines = value.split("\n") if "\n" in value else value.split(",")
            return tuple(line.removesuffix("\r") for line in lines if line not in ("", "\r"))
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if not isinstance(parsed, list) or not all(isinstance(item, str) for item in parsed):
            raise ValueError(
                'is not a JSON list of strings: store it as one string, ["first", "second"]'
            )
        return tuple(parsed)

    @field_validator("backup_config_host", mode="before")
    @classmethod
    def _empty_is_absent(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("private_key_passphrase")
    @classmethod
    def _one_line(cls, value: SecretStr) -> SecretStr:
        # gpg reads a passphrase as one line from its pipe: the rest would be silently dropped.
        if _has_line_break(value):
            raise ValueError("must not contain a line break (gpg reads one line)")
        return value

    @field_validator("private_key_passphrases")
    @classmethod
    def _each_one_line(cls, value: tuple[SecretStr, ...] | None) -> tuple[SecretStr, ...] | None:
        # Each key's passphrase goes to its own gpg as one line, as the shared one does.
        if value is not None and any(_has_line_break(item) for item in value):
            raise ValueError("a passphrase must not contain a line break (gpg reads one line)")
        return value

    def belongs_to(self, config_url: str) -> bool:
        """Tell whether `backup-config-host` names the store `config_url` (same_store)."""
        return self.backup_config_host is not None and same_store(
            self.backup_config_host, config_url
        )

    @property
    def key_bytes(self) -> bytes:
        """Return the private key(s) as gpg reads them."""
        return self.private_key.get_secret_value().encode("latin-1")

    @property
    def passphrases(self) -> KeyPassphrases:
        """Return the keys' passphrases: the shared one, or one each."""
        return KeyPassphrases(self.private_key_passphrase, self.private_key_passphrases)

    @classmethod
    def keys(cls) -> list[str]:
        """Return every key a restore config source is asked for."""
        return [PRIVATE_KEY, PASSPHRASE, BACKUP_CONFIG_HOST, PASSPHRASES]

    @classmethod
    def secret_keys(cls) -> list[str]:
        """Return the keys whose values are secrets (masked wherever text is shown)."""
        return [PRIVATE_KEY, PASSPHRASE, PASSPHRASES]

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> RestoreConfig:
        """Validate raw key/value data; raise RestoreConfigError listing every problem."""
        if raw.get(PASSPHRASES) and PASSPHRASE not in raw:
            # One passphrase per key: the shared one is not needed (and never used).
            raw = {**raw, PASSPHRASE: ""}
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            raise RestoreConfigError(
                [_problem(error) for error in exc.errors(include_input=False)]
            ) from None


def _has_line_break(value: SecretStr) -> bool:
    text = value.get_secret_value()
    return "\n" in text or "\r" in text


def _problem(error: ErrorDetails) -> str:
    location = ".".join(str(part) for part in error.get("loc", ())) or "config"
    if error.get("type") == "missing":
        return f"{location} is missing"
    return f"{location}: {str(error.get('msg', 'is invalid')).removeprefix('Value error, ')}"


def same_store(first: str, second: str) -> bool:
    """Tell whether two config store URLs name the same store.

    Scheme and host compare without case (`HTTPS://KV-Acme.vault.azure.net/` is
    `https://kv-acme.vault.azure.net`), a trailing slash does not count, and a `file://` path
    is compared after `.` and `..` are resolved as text (no file system is read).
    """
    return _store_key(first) == _store_key(second)


def _store_key(url: str) -> tuple[str, str, str]:
    scheme, _, rest = url.strip().partition("://")
    host, slash, path = rest.partition("/")
    path = posixpath.normpath(slash + path) if slash else ""
    return scheme.lower(), host.lower(), "" if path == "/" else path
