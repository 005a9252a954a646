"""HtmlReportWriter: the fleet report as `DIR/report.json` and `DIR/index.html`.

Each file is written under a hidden temporary name in DIR, flushed to disk, made 0644 (a web
server or a colleague may read it) and renamed over the old one, so a reader sees the old report
or the new one, never half of either. DIR is made (0755) when missing. Tested in
tests/unit/test_html_report.py and, in a headless Chromium, tests/integration/test_report_job.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

from adapters.html.page import render
from domain.models.report import FleetReport
from ports.errors import ReportError
from ports.report_writer import ReportWriter

FILE_MODE = 0o644
DIR_MODE = 0o755
JSON_FILE = "report.json"
HTML_FILE = "index.html"


class HtmlReportWriter(ReportWriter):
    """Write the report into one output directory."""

    def __init__(self, output: Path) -> None:
        self.output = output

    def write(self, report: FleetReport) -> str:
        """Write report.json, then index.html; return the directory.

        Raises:
            ReportError: The directory cannot be made or a file cannot be written.
        """
        try:
            self.output.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        except OSError as exc:
            message = f"cannot make the report directory {self.output} ({exc.strerror})"
            raise ReportError(message) from None
        document = json.dumps(report.to_document(), indent=2, ensure_ascii=False) + "\n"
        _write(self.output / JSON_FILE, document.encode("utf-8"))
        _write(self.output / HTML_FILE, render(report).encode("utf-8"))
        return str(self.output)


def _write(path: Path, data: bytes) -> None:
    try:
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise ReportError(f"cannot write {path} ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
            os.fchmod(file.fileno(), FILE_MODE)
        Path(temporary).replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            Path(temporary).unlink()
        raise ReportError(f"cannot write {path} ({exc.strerror})") from None
