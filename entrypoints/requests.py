"""What each job was asked to do: typed requests built from its command line.

A job's entry point parses its arguments into one of these; the container reads the request's
own fields (never a shared argparse Namespace). `JobRequest` holds what every client job has.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from domain.models.fleet import FleetClient
from domain.models.hold import HoldRequest
from domain.models.operations import ArchiveRequest, NewClient
from domain.models.restore_request import (
    DecryptRequest,
    DrillRequest,
    RekeyRequest,
    RestoreRequest,
    VerifyRequest,
)

NO_STORE = "none"
"""The scheme of a config store that was not given (a job run without `--restore-vault`)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigStore:
    """A config store named on the command line and the service principal that reads it.

    `url` is `https://<vault>` (an Azure Key Vault) or `file:///path.toml`; `client_secret` is
    the service principal's secret as a Fernet token (`-` for a file).
    """

    url: str
    client_id: str
    client_secret: str

    @property
    def scheme(self) -> str:
        """Return `https` or `file`."""
        return self.url.split("://", 1)[0].lower()


@dataclass(frozen=True, kw_only=True)
class JobRequest:
    """A job on one client: CLIENT_NAME, its config store, the Entra ID options."""

    job: ClassVar[str]
    client_name: str
    config: ConfigStore
    tenant_id: str | None = None
    authority_host: str | None = None
    restore: ConfigStore | None = None
    """The restore vault (`--restore-vault`), for the jobs that decrypt."""

    @property
    def restore_scheme(self) -> str:
        """Return the restore vault's scheme, or `none` when it was not given."""
        return self.restore.scheme if self.restore is not None else NO_STORE

    @property
    def shown(self) -> str:
        """Return the arguments worth logging; secrets (tokens) never are."""
        shown = {
            "client_name": self.client_name,
            "key_vault": self.config.url,
            "client_id": self.config.client_id,
            "tenant_id": self.tenant_id,
            "restore_vault": self.restore.url if self.restore else None,
        }
        return ", ".join(f"{key}={value}" for key, value in shown.items() if value)


@dataclass(frozen=True, kw_only=True)
class BackupJob(JobRequest):
    """`backup`: EOY_MONTH, the month that ends the client's fiscal year."""

    job: ClassVar[str] = "backup"
    eoy_month: int


@dataclass(frozen=True, kw_only=True)
class RetentionJob(JobRequest):
    """`retention [--dry-run]`."""

    job: ClassVar[str] = "retention"
    dry_run: bool = False


@dataclass(frozen=True, kw_only=True)
class ListJob(JobRequest):
    """`list [--json]`."""

    job: ClassVar[str] = "list"
    as_json: bool = False


@dataclass(frozen=True, kw_only=True)
class RestoreJob(JobRequest):
    """`restore`: one database of one run into a target database."""

    job: ClassVar[str] = "restore"
    request: RestoreRequest


@dataclass(frozen=True, kw_only=True)
class DecryptJob(JobRequest):
    """`decrypt`: one stored dump into a local file."""

    job: ClassVar[str] = "decrypt"
    request: DecryptRequest


@dataclass(frozen=True, kw_only=True)
class VerifyJob(JobRequest):
    """`verify`: runs against their manifests."""

    job: ClassVar[str] = "verify"
    request: VerifyRequest


@dataclass(frozen=True, kw_only=True)
class CheckJob(JobRequest):
    """`check`: is the client ready and fresh."""

    job: ClassVar[str] = "check"


@dataclass(frozen=True, kw_only=True)
class CreateClientJob(JobRequest):
    """`create_client`: the new client's settings, its secrets read by the entry point."""

    job: ClassVar[str] = "create_client"
    new_client: NewClient
    signing: bool = False
    """`--signing`: also make the operator's signing key at `[signing] key_file`."""


@dataclass(frozen=True, kw_only=True)
class ArchiveJob(JobRequest):
    """`archive FILE [--folder NAME]`."""

    job: ClassVar[str] = "archive"
    request: ArchiveRequest


@dataclass(frozen=True, kw_only=True)
class HoldJob(JobRequest):
    """`hold --run RUN_ID --reason TEXT`."""

    job: ClassVar[str] = "hold"
    hold: HoldRequest


@dataclass(frozen=True, kw_only=True)
class ReleaseJob(HoldJob):
    """`release --run RUN_ID --reason TEXT`."""

    job: ClassVar[str] = "release"


@dataclass(frozen=True, kw_only=True)
class ReportJob:
    """`report FLEET_FILE --output DIR`: every client of the fleet, read-only.

    Not one client's job: it logs to `<log_root>/fleet/report.log` and its metrics file is
    `lts_fleet_report.prom`. The Entra ID options come from the fleet file or `[azure]`.
    """

    job: ClassVar[str] = "report"
    client_name: ClassVar[str] = "fleet"
    clients: tuple[FleetClient, ...]
    fleet_file: Path
    output: Path
    tenant_id: str | None = None
    authority_host: str | None = None

    @property
    def shown(self) -> str:
        """Return the arguments worth logging (the fleet's tokens never are)."""
        names = ", ".join(client.name for client in self.clients)
        return f"fleet_file={self.fleet_file}, output={self.output}, clients={names}"


@dataclass(frozen=True, kw_only=True)
class RekeyJob(JobRequest):
    """`rekey`: re-encrypt runs to the client's current public key."""

    job: ClassVar[str] = "rekey"
    request: RekeyRequest


@dataclass(frozen=True, kw_only=True)
class DrillJob(JobRequest):
    """`drill`: a run's databases restored into scratch databases and compared."""

    job: ClassVar[str] = "drill"
    request: DrillRequest


@dataclass(frozen=True, kw_only=True)
class ToolRequest:
    """A job that works on this host only: no client, no config store."""

    job: ClassVar[str]


@dataclass(frozen=True, kw_only=True)
class GenerateKeyJob(ToolRequest):
    """`generate_key [PATH]`: None writes `[secrets] key_file`."""

    job: ClassVar[str] = "generate_key"
    path: Path | None = None


@dataclass(frozen=True, kw_only=True)
class EncryptSecretJob(ToolRequest):
    """`encrypt_secret [--key-file PATH]`: None uses `[secrets] key_file`."""

    job: ClassVar[str] = "encrypt_secret"
    key_file: Path | None = None


@dataclass(frozen=True, kw_only=True)
class DiagramJob(ToolRequest):
    """`diagram [--check] [--output DIR]`: None is `docs/machines` of the current checkout."""

    job: ClassVar[str] = "diagram"
    output: Path | None = None
    check: bool = False
