"""InMemoryMetrics: each job's latest metric families, kept in a dict."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from domain.models.metrics import MetricFamily
from ports.metrics import Metrics


class InMemoryMetrics(Metrics):
    """Keeps `published[(client, job)]`, the families of each job's last run.

    `error` makes every publish raise it (a directory that cannot be written).
    """

    def __init__(self, *, error: Exception | None = None) -> None:
        self.published: dict[tuple[str, str], list[MetricFamily]] = {}
        self.error = error

    def previous(self, client: str, job: str, names: Collection[str]) -> Mapping[str, float]:
        """Return the label-free values of `names` in the job's last set."""
        values: dict[str, float] = {}
        for family in self.published.get((client, job), []):
            for sample in family.samples:
                if family.name in names and {k for k, _ in sample.labels} <= {"client", "job"}:
                    values[family.name] = sample.value
        return values

    def publish(self, client: str, job: str, families: Sequence[MetricFamily]) -> None:
        """Replace the job's set, or raise `error`."""
        if self.error is not None:
            raise self.error
        self.published[(client, job)] = list(families)

    def value(self, client: str, job: str, name: str, **labels: str) -> float | None:
        """Return one sample's value (a convenience for assertions), or None."""
        for family in self.published.get((client, job), []):
            if family.name != name:
                continue
            for sample in family.samples:
                if all(dict(sample.labels).get(k) == v for k, v in labels.items()):
                    return sample.value
        return None
