"""The Azure client options of a job, built once from the master config and the command line.

The Key Vault config source and the Entra ID token credential for PostgreSQL get the same
options the same way (SPEC 5.1, 6.1): the tenant and authority (`--tenant_id`,
`--authority_host`, else `[azure]`), and one mapping of SDK client options.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from entrypoints.requests import JobRequest
from entrypoints.settings import AzureSettings


@dataclass(frozen=True, slots=True)
class AzureOptions:
    """How every Azure SDK client of a job logs in and talks to Azure."""

    tenant_id: str | None
    authority_host: str
    disable_instance_discovery: bool
    client_options: dict[str, Any] = field(default_factory=dict)
    """Keyword options of the SDK's credential and clients: timeouts, retries, CA file."""


def azure_options(settings: AzureSettings, request: JobRequest) -> AzureOptions:
    """Return the options: the command line first, then the master config's `[azure]`."""
    client_options: dict[str, Any] = {
        "connection_timeout": settings.connection_timeout,
        "read_timeout": settings.read_timeout,
        "retry_total": settings.retries,
    }
    if settings.ca_file is not None:
        client_options["connection_verify"] = str(settings.ca_file)
    return AzureOptions(
        tenant_id=request.tenant_id if request.tenant_id is not None else settings.tenant_id,
        authority_host=request.authority_host or settings.authority_host,
        disable_instance_discovery=settings.disable_instance_discovery,
        client_options=client_options,
    )
