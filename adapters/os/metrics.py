"""TextfileMetrics: each job's metrics as a node_exporter textfile (`lts_<client>_<job>.prom`).

The Prometheus text exposition format (version 0.0.4): a `# HELP` and a `# TYPE` line per
family, then one `name{label="value"} number` line per sample, label values escaped (backslash,
double quote, newline). node_exporter's textfile collector reads every `*.prom` file of its
directory at each scrape, so a file is written whole under a hidden temporary name in the same
directory, flushed to disk, made 0644 (node_exporter usually runs as another user) and renamed
over the old one: a scrape sees the old set or the new one, never half a file. Tested in
tests/unit/test_textfile_metrics.py, parsed with the Prometheus client library's own parser.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

from adapters.os.paths import check_component
from adapters.os.public_files import write_public_file
from domain.models.metrics import MetricFamily
from ports.errors import MetricsError
from ports.metrics import Metrics

logger = logging.getLogger("lts.metrics")

MAX_FILE_BYTES = 4 * 1024 * 1024
"""A job's file holds a few lines per database; a larger one is not ours and is not read."""

_SAMPLE = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?[ \t]+(\S+)(?:[ \t]+-?\d+)?$")
_LABEL = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')
_OWN_LABELS = frozenset({"client", "job"})


class TextfileMetrics(Metrics):
    """Write each job's metrics to `<directory>/lts_<client>_<job>.prom`, atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, client: str, job: str) -> Path:
        """Return the file of a client's job."""
        check_component(client, "client name")
        check_component(job, "job name")
        return self.directory / f"lts_{client}_{job}.prom"

    def previous(self, client: str, job: str, names: Collection[str]) -> Mapping[str, float]:
        """Return the label-free values of `names` in the job's file; {} when unreadable."""
        path = self.path(client, job)
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                logger.warning("%s is too large to be a job's metrics; not read", path)
                return {}
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as exc:
            logger.warning("cannot read the previous metrics %s: %s", path, exc)
            return {}
        return parse_values(text, names)

    def publish(self, client: str, job: str, families: Sequence[MetricFamily]) -> None:
        """Write the job's file atomically (temporary file, fsync, chmod 0644, rename).

        Raises:
            MetricsError: The directory is missing or the file cannot be written.
        """
        path = self.path(client, job)
        if not self.directory.is_dir():
            raise MetricsError(f"the metrics directory {self.directory} does not exist")
        try:
            write_public_file(path, render(families).encode("utf-8"))
        except OSError as exc:
            raise MetricsError(f"cannot write the metrics file {path} ({exc.strerror})") from None
        logger.info("metrics written to %s", path)


def render(families: Sequence[MetricFamily]) -> str:
    """Return the families in the Prometheus text exposition format."""
    lines: list[str] = []
    for family in families:
        lines.append(f"# HELP {family.name} {escape_help(family.help)}")
        lines.append(f"# TYPE {family.name} {family.type}")
        for sample in family.samples:
            labels = ",".join(f'{name}="{escape_label(value)}"' for name, value in sample.labels)
            selector = f"{{{labels}}}" if labels else ""
            lines.append(f"{family.name}{selector} {format_value(sample.value)}")
    return "\n".join(lines) + "\n"


def escape_label(value: str) -> str:
    """Escape a label value: backslash, double quote and newline (the exposition format)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def escape_help(text: str) -> str:
    """Escape a HELP text: backslash and newline."""
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value: float) -> str:
    """Return a sample value as the format writes it (`+Inf`, `NaN`, integers without `.0`)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def parse_values(text: str, names: Collection[str]) -> dict[str, float]:
    """Return the values of the samples of `names` labelled only by client and job."""
    values: dict[str, float] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line.strip())
        if match is None or match.group(1) not in names:
            continue
        labels = {name for name, _ in _LABEL.findall(match.group(2) or "")}
        if not labels <= _OWN_LABELS:
            continue
        try:
            values[match.group(1)] = float(match.group(3))
        except ValueError:
            continue
    return values
