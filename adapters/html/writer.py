"""HtmlReportWriter: the fleet report as `DIR/report.json` and `DIR/index.html`.

Each file is written by `write`, which the container makes the OS adapter's public-file writer:
under a hidden temporary name in DIR, flushed, made 0644 (a web server or a colleague may read
it) and renamed over the old one, so a reader sees the old report or the new one, never half of
either. DIR is made (0755) when missing. Tested in
tests/unit/test_html_report.py and, in a headless Chromium, tests/integration/test_report_job.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from adapters.html.page import render
from domain.models.report import FleetReport
from ports.errors import ReportError
from ports.report_writer import ReportWriter

DIR_MODE = 0o755
JSON_FILE = "report.json"
HTML_FILE = "index.html"


class HtmlReportWriter(ReportWriter):
    """Write the report into one output directory."""

    def __init__(self, output: Path, *, write: Callable[[Path, bytes], None]) -> None:
        self.output = output
        self._write = write

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
        for name, text in ((JSON_FILE, document), (HTML_FILE, render(report))):
            path = self.output / name
            try:
                self._write(path, text.encode("utf-8"))
            except OSError as exc:
                raise ReportError(f"cannot write {path} ({exc.strerror})") from None
        return str(self.output)
