"""The fleet the report job looks at: one entry per client of the fleet file (SPEC 16)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ClientStore:
    """Where a client's config is read from, and the service principal that reads it.

    `client_secret` is the principal's secret as a Fernet token (`-` for a `file://` config):
    not the secret itself, but it opens it with the host's key file, so it is never shown.
    """

    url: str
    client_id: str
    client_secret: str = field(repr=False)
    tenant_id: str | None = None
    authority_host: str | None = None

    @property
    def scheme(self) -> str:
        """Return `https` or `file`."""
        return self.url.split("://", 1)[0].lower()


@dataclass(frozen=True, slots=True)
class FleetClient:
    """One client of the fleet: its name, the month that ends its fiscal year, its config."""

    name: str
    eoy_month: int
    store: ClientStore
