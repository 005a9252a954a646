"""The master config: the operator's host settings (SPEC section 6.1), with pydantic-settings.

Values come, highest priority first, from keyword arguments, then environment variables
`LTS_<SECTION>__<KEY>` (case-insensitive, for example `LTS_BACKUP__WORKER_POOL_SIZE=4`), then
the TOML file named by `LTS_CONFIG` (default `/etc/long-term-storage/config.toml`), then the
built-in defaults below. Unknown keys are errors, so a typo never silently falls back to a
default. `load_settings` turns every problem into one SettingsError listing one bad key a line.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from pydantic_settings import SettingsError as PydanticSettingsError

from domain.models.compression import DEFAULT_COMPRESSION, zstd_choice

CONFIG_ENV = "LTS_CONFIG"
DEFAULT_CONFIG_FILE = Path("/etc/long-term-storage/config.toml")
ENV_PREFIX = "LTS_"
MAX_AGE_HOURS = 100 * 365 * 24
"""Ages in hours stop at a century: a bigger one is surely a typo, and overflows a timedelta."""

_COMPRESSION = r"^(none|gzip(:[0-9])?|lz4(:[0-9]+)?|zstd(:(level=)?[0-9]+)?|[0-9])$"
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_POOL_SIZE = 64

_environ: ContextVar[Mapping[str, str] | None] = ContextVar("lts_settings_environ", default=None)
"""The environment `load_settings` was given; None means the process environment."""


class SettingsError(ValueError):
    """The master config is invalid: one line per bad key, or one line for an unreadable file."""


class _Section(BaseModel):
    """A section of the master config: unknown keys are refused, values are frozen.

    No number may be infinite or NaN (`inf` would pass `gt=0` and break every job later).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class PathsSettings(_Section):
    """`[paths]`: where the job writes logs, mounts shares, takes locks and keeps work files."""

    log_root: Path = Path("/var/log/long-term-storage")
    mount_root: Path = Path("/mnt/long-term-storage")
    lock_root: Path = Path("/run/lock/long-term-storage")
    work_root: Path = Path("/var/tmp/long-term-storage")  # noqa: S108 - a fixed, root-owned dir


class LoggingSettings(_Section):
    """`[logging]`: the level of the "lts" logger, the daily rotation, JSON lines or text."""

    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True)

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    rotation: Literal["daily"] = "daily"
    backup_count: int = Field(default=30, ge=0)
    # `json` in the file and environment; the attribute has another name because `json` would
    # shadow BaseModel.json (pydantic warns, and the warning is an error under pytest).
    json_lines: bool = Field(default=False, alias="json")

    @field_validator("level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        """Accept level names in any case ("info" as "INFO")."""
        return value.upper() if isinstance(value, str) else value


class SecretsSettings(_Section):
    """`[secrets]`: the Fernet key file that decrypts command-line secrets."""

    key_file: Path = Path("/etc/fernet.key")


class AzureSettings(_Section):
    """`[azure]`: Entra ID and Key Vault client settings."""

    tenant_id: str | None = None
    disable_instance_discovery: bool = False
    connection_timeout: float = Field(default=30, gt=0)
    read_timeout: float = Field(default=60, gt=0)
    retries: int = Field(default=3, ge=0)
    authority_host: str = "https://login.microsoftonline.com"
    ca_file: Path | None = None
    """CA bundle for Entra ID and Key Vault (private clouds, TLS proxies, test doubles); when
    unset, the Azure SDK's default, which honours `$REQUESTS_CA_BUNDLE`."""


class BackupSettings(_Section):
    """`[backup]`: the worker pool, what is never dumped, the dump tools and the periods."""

    # `auto`: one database per usable CPU, zstd threads sized with it (domain/rules/parallelism.py).
    worker_pool_size: int | Literal["auto"] = "auto"
    # Only Azure's own internal databases: a client's data in `postgres` must not be lost.
    exclude_everywhere: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["azure_maintenance", "azure_sys"]
    )
    pg_bin_dir: Path | None = None
    compression: str = Field(default=DEFAULT_COMPRESSION, pattern=_COMPRESSION)
    period_offset_months: int = Field(default=0, ge=0, le=11)
    timezone: str = "UTC"
    min_dump_bytes: int = Field(default=64, ge=0)
    shrink_warning_ratio: float = Field(default=0.5, ge=0, le=1)
    share_lock_max_age_hours: float = Field(default=48, gt=0, le=MAX_AGE_HOURS)
    count_rows: bool = True
    """Count every table's rows in the dump's snapshot for the manifest (what drills compare)."""

    @property
    def share_lock_max_age(self) -> timedelta:
        """Return the age after which a share lock marker is taken over."""
        return timedelta(hours=self.share_lock_max_age_hours)

    @field_validator("exclude_everywhere", mode="before")
    @classmethod
    def _split_names(cls, value: object) -> object:
        """Accept a comma-separated string (or a JSON list) from the environment."""
        if not isinstance(value, str):
            return value
        if value.lstrip().startswith("["):
            return json.loads(value)
        return [name.strip() for name in value.split(",") if name.strip()]

    @field_validator("worker_pool_size", mode="before")
    @classmethod
    def _auto_or_pool_size(cls, value: object) -> object:
        """Accept `auto` or a whole number of workers from 1 to 64 (also as a string).

        Only ASCII digits: `str.isdigit` and `int` would take `٦` for 6 (issue 12).
        """
        text = str(value).strip().lower()
        if text == "auto":
            return "auto"
        digits = text.isascii() and text.isdigit()
        if isinstance(value, bool) or not digits or not 1 <= int(text) <= MAX_POOL_SIZE:
            raise ValueError(f'must be "auto" or a whole number from 1 to {MAX_POOL_SIZE}')
        return int(text)

    @field_validator("compression")
    @classmethod
    def _zstd_level_in_range(cls, value: str) -> str:
        """Refuse a zstd level that a stock `zstd -d` could not decompress."""
        zstd_choice(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        """Refuse a time zone the system's zoneinfo does not know."""
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone (use an IANA name such as Europe/Paris)") from None
        return value


class RetentionSettings(_Section):
    """`[retention]`: the deleting worker pool and the safety floor of kept runs."""

    worker_pool_size: int = Field(default=4, ge=1, le=64)
    minimum_keep: int = Field(default=1, ge=1)
    partial_max_age_hours: float = Field(default=24, gt=0, le=MAX_AGE_HOURS)

    @property
    def partial_max_age(self) -> timedelta:
        """Return the age after which `.partial` debris is removed."""
        return timedelta(hours=self.partial_max_age_hours)


class ShareSettings(_Section):
    """`[share]`: how CIFS shares are reached (kernel mount or userspace SMB)."""

    cifs_driver: Literal["mount", "smb"] = "mount"
    use_sudo: bool = False
    mount_options: str = ""


class MetricsSettings(_Section):
    """`[metrics]`: where every job leaves its metrics for node_exporter's textfile collector."""

    textfile_dir: Path | None = None
    """The collector's directory; unset, no metrics are written."""

    @property
    def sink(self) -> Literal["textfile", "none"]:
        """Return which Metrics adapter the container builds."""
        return "textfile" if self.textfile_dir is not None else "none"


class ReportSettings(_Section):
    """`[report]`: how many clients the fleet report surveys at once."""

    worker_pool_size: int = Field(default=2, ge=1, le=16)


class SigningSettings(_Section):
    """`[signing]`: the operator's key that signs every run, and the keys `verify` trusts.

    `key_file` is an armoured OpenPGP secret key without a passphrase (mode 0600; a file open to
    group or others is refused when the key is loaded); `trusted_keys` are armoured public key
    files (the public half of `key_file` is trusted as well); with `require`, an unsigned run is
    a Failure of `verify` (SPEC 14).
    """

    key_file: Path | None = None
    trusted_keys: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    require: bool = False

    @field_validator("trusted_keys", mode="before")
    @classmethod
    def _split_paths(cls, value: object) -> object:
        """Accept a comma-separated string (or a JSON list) from the environment."""
        if not isinstance(value, str):
            return value
        if value.lstrip().startswith("["):
            return json.loads(value)
        return [name.strip() for name in value.split(",") if name.strip()]

    @model_validator(mode="after")
    def _require_needs_trusted_keys(self) -> SigningSettings:
        """Refuse `require = true` without a key to check signatures against."""
        if self.require and not self.trusted_keys and self.key_file is None:
            raise ValueError(
                "require = true needs trusted_keys (the public keys to check with) or key_file"
            )
        return self

    @property
    def signer(self) -> str:
        """Return `gpg` when runs are signed (`key_file` is set), else `none`."""
        return "gpg" if self.key_file is not None else "none"

    @property
    def checker(self) -> str:
        """Return `gpg` when signatures are checked (trusted keys or a key file), else `none`.

        The host's own signing key is trusted too: a host checks what it signed.
        """
        return "gpg" if self.trusted_keys or self.key_file is not None else "none"


class CheckSettings(_Section):
    """`[check]`: what the check job demands beyond readiness and freshness."""

    drill_max_age_days: int | None = Field(default=None, ge=0, le=MAX_AGE_HOURS // 24)
    """When set, the newest complete run must be proven by a drill within this many days."""

    @property
    def drill_max_age(self) -> timedelta | None:
        """Return `drill_max_age_days` as a duration, None when drills are not demanded."""
        days = self.drill_max_age_days
        return None if days is None else timedelta(days=days)


class Settings(BaseSettings):
    """The master config: one nested model per TOML section.

    Build it with `load_settings`, which reads the environment once and reports problems as a
    SettingsError; constructing `Settings()` directly reads the process environment.
    """

    model_config = SettingsConfigDict(
        env_prefix="LTS_",
        env_nested_delimiter="__",
        case_sensitive=False,
        extra="forbid",
        frozen=True,
    )

    paths: PathsSettings = PathsSettings()
    logging: LoggingSettings = LoggingSettings()
    secrets: SecretsSettings = SecretsSettings()
    azure: AzureSettings = AzureSettings()
    backup: BackupSettings = BackupSettings()
    retention: RetentionSettings = RetentionSettings()
    share: ShareSettings = ShareSettings()
    metrics: MetricsSettings = MetricsSettings()
    report: ReportSettings = ReportSettings()
    signing: SigningSettings = SigningSettings()
    check: CheckSettings = CheckSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        # pydantic-settings passes these by keyword, so the names stay though they are replaced.
        env_settings: PydanticBaseSettingsSource,  # noqa: ARG003
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Read keyword arguments, then the environment, then the TOML file; no .env files."""
        environ = _current_environ()
        return (
            init_settings,
            _MappingEnvSettingsSource(settings_cls, environ),
            TomlConfigSettingsSource(settings_cls, toml_file=config_file(environ)),
        )


class _MappingEnvSettingsSource(EnvSettingsSource):
    """The environment source, reading a given mapping instead of `os.environ`."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        if self.case_sensitive:
            return dict(self._environ)
        return {name.lower(): value for name, value in self._environ.items()}


def config_file(environ: Mapping[str, str]) -> Path:
    """Return the TOML file the master config is read from: `$LTS_CONFIG` or the default."""
    value = environ.get(CONFIG_ENV, "")
    return Path(value) if value else DEFAULT_CONFIG_FILE


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Return the master config read from `environ` (default: the process environment).

    A config file that does not exist gives the built-in defaults (SPEC 6.1: "built-in defaults
    when absent"); this holds also when `LTS_CONFIG` names a missing file, so a host can run with
    environment variables only. A file that exists but cannot be read or parsed is an error.

    Raises:
        SettingsError: One line per bad key (`backup.worker_pool_size: Input should be ...`),
            never echoing the values, or one line saying why the file cannot be read.
    """
    environ = os.environ if environ is None else environ
    _check_environment(environ)
    path = config_file(environ)
    if path.exists() and not path.is_file():
        raise SettingsError(f"the master config {path} is not a file")
    with _using_environ(environ):
        try:
            return Settings()
        except UnicodeDecodeError as exc:
            raise SettingsError(
                f"the master config {path} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} "
                f"at offset {exc.start})"
            ) from None
        except ValidationError as exc:
            raise SettingsError(_describe(exc)) from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(
                f"the master config {config_file(environ)} is not valid TOML: {exc}"
            ) from None
        except OSError as exc:
            raise SettingsError(
                f"the master config {config_file(environ)} cannot be read ({exc.strerror})"
            ) from None
        except PydanticSettingsError as exc:
            # pydantic-settings wraps environment values it cannot decode.
            raise SettingsError(
                f"the master config cannot be read from the environment: {exc}"
            ) from None


def _check_environment(environ: Mapping[str, str]) -> None:
    """Refuse `LTS_*` variables that name no section, as unknown keys are refused.

    pydantic-settings reads only the variables of known sections, so `LTS_FROBS__X=1` would
    silently do nothing; a typo in a section's name must be as loud as one in a key's.
    """
    sections = set(Settings.model_fields)
    problems = []
    for name in sorted(environ):
        if not name.upper().startswith(ENV_PREFIX) or name.upper() == CONFIG_ENV:
            continue
        section = name[len(ENV_PREFIX) :].split("__", 1)[0].lower()
        if section not in sections:
            problems.append(
                f"{name}: no section {section!r} in the master config "
                f"(sections: {', '.join(sorted(sections))})"
            )
    if problems:
        raise SettingsError("\n".join(problems))


def _describe(error: ValidationError) -> str:
    """Return one `section.key: message` line per problem, without the input values."""
    lines: list[str] = []
    for problem in error.errors(include_url=False, include_input=False, include_context=False):
        # Keep field names and list indexes; drop pydantic's union-member labels.
        parts = [
            str(part)
            for part in problem["loc"]
            if isinstance(part, int) or _FIELD_NAME.match(str(part))
        ]
        line = f"{'.'.join(parts) or '(config)'}: {problem['msg']}"
        if line not in lines:
            lines.append(line)
    return "\n".join(lines)


def _current_environ() -> Mapping[str, str]:
    """Return the environment of the current `load_settings` call, or the process's."""
    environ = _environ.get()
    return os.environ if environ is None else environ


@contextmanager
def _using_environ(environ: Mapping[str, str]) -> Iterator[None]:
    """Make `environ` the environment the settings sources read, for this context only."""
    token = _environ.set(environ)
    try:
        yield
    finally:
        _environ.reset(token)
