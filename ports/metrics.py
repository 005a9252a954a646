"""The Metrics port: where a job leaves its metrics for monitoring (SPEC section 16)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Collection, Mapping, Sequence
from typing import Protocol

from domain.models.metrics import MetricFamily


class Metrics(Protocol):
    """A store of each job's latest metrics, one set per client and job.

    `publish` replaces a job's whole set atomically: a reader (node_exporter) sees the old set or
    the new one, never a mix. Raises MetricsError when the set cannot be stored. Metrics hold no
    secret: labels are client, job, database and key fingerprint names only.
    """

    @abstractmethod
    def previous(self, client: str, job: str, names: Collection[str]) -> Mapping[str, float]:
        """Return the values the job's last set holds for the families `names`.

        Only samples labelled with nothing but the client and job count. A missing or
        unreadable set gives an empty mapping (a first run), never an error.
        """

    @abstractmethod
    def publish(self, client: str, job: str, families: Sequence[MetricFamily]) -> None:
        """Replace the job's set with `families`."""
