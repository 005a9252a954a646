"""The report page and its files: self-contained, escaped, written whole and readable."""

import json
import re
import stat

import pytest

from adapters.html.charts import human_bytes, size_chart
from adapters.html.page import CSP, render
from adapters.html.writer import HtmlReportWriter
from adapters.os.public_files import write_public_file
from domain.models.report import (
    Cell,
    CellStatus,
    ClientRow,
    FleetReport,
    HoldRow,
    KeyRow,
    SizePoint,
    SizeSeries,
)
from domain.rules.report import unreachable_row
from ports.errors import ReportError

EVIL = '<script>alert("x")</script>'


def report() -> FleetReport:
    sizes = (
        SizeSeries(EVIL, (SizePoint("20261028T220000Z", "2026-10-28T22:00:00+00:00", 1500),)),
        SizeSeries(
            "hr",
            (
                SizePoint("20260928T220000Z", "2026-09-28T22:00:00+00:00", 900),
                SizePoint("20261028T220000Z", "2026-10-28T22:00:00+00:00", 1000),
            ),
        ),
    )
    acme = ClientRow(
        name="acme",
        eoy_month=6,
        reachable=True,
        problems=(f"the newest run has failed databases: {EVIL}",),
        cells=(
            Cell("2026-09", CellStatus.COMPLETE, drilled="ok"),
            Cell("2026-10", CellStatus.PARTIAL, held=True),
        ),
        sizes=sizes,
        keys=(KeyRow("encryption", "F" * 40, "2027-01-01T00:00:00+00:00", 47, True),),
        holds=(HoldRow("end-of-month/2026-10/20261028T220000Z", EVIL, "alice@ops1", None, None),),
    )
    gone = unreachable_row("gone", 12, f"unreachable: {EVIL}")
    return FleetReport("2026-11-15T12:00:00+00:00", ("2026-09", "2026-10"), (acme, gone))


def test_the_page_has_a_row_per_client_and_escapes_every_text():
    page = render(report())
    assert EVIL not in page
    assert "&lt;script&gt;" in page
    rows = re.findall(r'<tr class="[a-z]+" data-client="([^"]+)">', page)
    assert rows == ["acme", "gone"]
    assert 'colspan="2"' in page


def test_the_page_needs_no_network_and_runs_no_script():
    page = render(report())
    assert f'content="{CSP}"' in page
    assert "<script" not in page.replace("&lt;script", "")
    assert '<link rel="icon" href="data:,">' in page
    # No URL but the SVG namespace (an identifier, never fetched) and in-page anchors.
    urls = set(re.findall(r'(?:src|href)="([^"#][^"]*)"', page))
    assert urls == {"data:,"}
    assert re.findall(r"https?://[^\s\"<]+", page) == ["http://www.w3.org/2000/svg"]


def test_the_chart_has_a_line_per_database_and_a_title_per_point():
    chart = size_chart(report().clients[0].sizes, "acme")
    assert chart.count("<polyline") == 2
    assert chart.count("<circle") == 3
    assert "hr 20261028T220000Z: 1.0 kB (1000 B)" in chart
    assert size_chart((), "empty") == ""


@pytest.mark.parametrize(
    ("size", "text"), [(0, "0 B"), (999, "999 B"), (1500, "1.5 kB"), (3e9, "3.0 GB")]
)
def test_sizes_read_as_people_read_them(size, text):
    assert human_bytes(size) == text


def test_the_writer_writes_json_and_html_0644_and_makes_the_directory(tmp_path):
    output = tmp_path / "reports" / "fleet"
    where = HtmlReportWriter(output, write=write_public_file).write(report())
    assert where == str(output)
    assert sorted(p.name for p in output.iterdir()) == ["index.html", "report.json"]
    for name in ("index.html", "report.json"):
        assert stat.S_IMODE((output / name).stat().st_mode) == 0o644
    document = json.loads((output / "report.json").read_text())
    assert document["clients_with_problems"] == 2
    assert [c["name"] for c in document["clients"]] == ["acme", "gone"]


def test_a_directory_that_cannot_be_made_is_a_report_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ReportError, match="cannot make the report directory"):
        HtmlReportWriter(blocker / "out", write=write_public_file).write(report())
