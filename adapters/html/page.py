"""The fleet report as one static HTML page: inline CSS and SVG, no script, no network.

A Content-Security-Policy of `default-src 'none'` (styles inline, images only `data:`) makes a
browser refuse any request the page might make, and the icon is an empty `data:` URL so that
no `/favicon.ico` is fetched either. Every text from a share or a config is HTML-escaped.
Tested in a real headless Chromium (tests/integration/test_report_job.py).
"""

from __future__ import annotations

from html import escape

from adapters.html.charts import color, human_bytes, size_chart
from domain.models.report import Cell, CellStatus, ClientRow, FleetReport

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

STYLE = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.5em;margin:0 0 .2em}
h2{font-size:1.2em;margin:1.6em 0 .5em;border-bottom:1px solid #ccc}
h3{font-size:1.05em;margin:1.2em 0 .3em}.muted{color:#666}
table{border-collapse:collapse;margin:.3em 0}
th,td{padding:2px 6px;text-align:left;vertical-align:top}
table.list th,table.list td{border-bottom:1px solid #e3e3e3}
table.freshness td{width:1.9em;height:1.6em;text-align:center;font-size:11px;border:1px solid #fff}
table.freshness thead th{font-size:10px;writing-mode:vertical-rl;transform:rotate(180deg);
white-space:nowrap;height:4.5em;padding:2px 0}
td.complete{background:#3a9d4a;color:#fff}td.partial{background:#f0ad3c}td.missing{background:#d9443d;color:#fff}
td.open{background:#dfe9f5}td.none{background:#f3f3f3}td.unreachable{background:#fbe3e1;text-align:left}
tr.problem th{color:#b3261e}.badge{font-size:10px;font-weight:bold}
ul.problems li{color:#b3261e}table.legend td{font-size:12px}
table.legend td.complete,table.legend td.partial,table.legend td.missing,table.legend td.open,
table.legend td.none{width:1.6em;text-align:center}
.chart text{font-size:10px;fill:#555}.chart .axis{stroke:#999;stroke-width:1}
.key{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px}
"""

_SYMBOL = {
    CellStatus.COMPLETE: "\u2713",
    CellStatus.PARTIAL: "~",
    CellStatus.MISSING: "\u2717",
    CellStatus.OPEN: "",
    CellStatus.NONE: "",
}


def render(report: FleetReport) -> str:
    """Return the whole page."""
    body = [
        "<h1>long-term-storage: fleet report</h1>",
        f'<p class="muted">Generated {escape(report.generated)} &middot; '
        f"{len(report.clients)} clients &middot; {report.with_problems} with problems</p>",
        "<h2>Freshness</h2>",
        _freshness(report),
        _legend(),
        "<h2>Runs on hold</h2>",
        _holds(report),
        "<h2>Keys</h2>",
        _keys(report),
        "<h2>Clients</h2>",
        *(_client(client) for client in report.clients),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        "<title>long-term-storage fleet report</title>"
        f"<style>{STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def _freshness(report: FleetReport) -> str:
    head = "".join(f"<th>{escape(period)}</th>" for period in report.periods)
    rows = []
    for client in report.clients:
        kind = "unreachable" if not client.reachable else "problem" if client.problems else "ok"
        name = f'<th><a href="#client-{escape(client.name)}">{escape(client.name)}</a></th>'
        if not client.reachable:
            cells = (
                f'<td class="unreachable" colspan="{len(report.periods)}">'
                f"{escape(client.error)}</td>"
            )
        else:
            cells = "".join(_cell(cell) for cell in client.cells)
        rows.append(f'<tr class="{kind}" data-client="{escape(client.name)}">{name}{cells}</tr>')
    return (
        f'<table class="freshness"><thead><tr><th>client</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _cell(cell: Cell) -> str:
    marks = _SYMBOL[cell.status] + ("H" if cell.held else "")
    marks += {"ok": "D", "failed": "d"}.get(cell.drilled, "")
    title = f"{cell.period}: {cell.status}"
    title += ", on hold" if cell.held else ""
    title += f", drill {cell.drilled}" if cell.drilled else ""
    title += "".join(f"\n{run}" for run in cell.runs)
    return f'<td class="{cell.status}" title="{escape(title)}">{escape(marks)}</td>'


def _legend() -> str:
    items = [
        ("complete", _SYMBOL[CellStatus.COMPLETE], "complete run"),
        ("partial", _SYMBOL[CellStatus.PARTIAL], "only incomplete runs"),
        ("missing", _SYMBOL[CellStatus.MISSING], "missing"),
        ("open", "", "month in progress"),
        ("none", "", "nothing expected"),
    ]
    cells = "".join(f'<td class="{cls}">{mark}</td><td>{text}</td>' for cls, mark, text in items)
    marks = (
        "<td><b>H</b> on hold &middot; <b>D</b> drill passed &middot; <b>d</b> drill failed</td>"
    )
    return f'<table class="legend"><tr>{cells}{marks}</tr></table>'


def _holds(report: FleetReport) -> str:
    rows = [
        f"<tr><td>{escape(client.name)}</td><td>{escape(hold.run)}</td>"
        f"<td>{escape(hold.reason)}</td><td>{escape(hold.who or 'unknown')}</td>"
        f"<td>{escape((hold.since or 'unknown')[:10])}</td>"
        f"<td>{'' if hold.age_days is None else f'{hold.age_days} days'}</td></tr>"
        for client in report.clients
        for hold in client.holds
    ]
    if not rows:
        return '<p class="muted">No run is on hold.</p>'
    return (
        '<table class="list holds"><thead><tr><th>client</th><th>run</th><th>reason</th>'
        "<th>by</th><th>since</th><th>age</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _keys(report: FleetReport) -> str:
    rows = [
        f'<tr class="{"problem" if key.expiring else "ok"}"><td>{escape(client.name)}</td>'
        f"<td>{escape(key.key)}</td><td><code>{escape(key.fingerprint)}</code></td>"
        f"<td>{escape((key.expires or 'never')[:10])}</td>"
        f"<td>{'' if key.days_left is None else f'{key.days_left} days'}"
        f"{' <b>expiring</b>' if key.expiring else ''}</td></tr>"
        for client in report.clients
        for key in sorted(
            client.keys, key=lambda k: k.days_left if k.days_left is not None else 10**9
        )
    ]
    if not rows:
        return '<p class="muted">No key could be read.</p>'
    return (
        '<table class="list keys"><thead><tr><th>client</th><th>key</th><th>fingerprint</th>'
        "<th>expires</th><th>left</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _client(client: ClientRow) -> str:
    name = escape(client.name)
    parts = [f'<section id="client-{name}"><h3>{name}</h3>']
    if not client.reachable:
        parts.append(f'<ul class="problems"><li>{escape(client.error)}</li></ul></section>')
        return "".join(parts)
    parts.append(
        f'<p class="muted">{client.runs} runs, {human_bytes(client.stored_bytes)} stored; '
        f"newest complete run: {escape(client.last_complete or 'none')}</p>"
    )
    if client.problems:
        items = "".join(f"<li>{escape(problem)}</li>" for problem in client.problems)
        parts.append(f'<ul class="problems">{items}</ul>')
    for note in client.notes:
        parts.append(f'<p class="muted">Note: {escape(note)}</p>')
    chart = size_chart(client.sizes, f"{client.name}: stored bytes per database")
    if chart:
        legend = "".join(
            f'<span class="key" style="background:{color(i)}"></span>{escape(s.database)}'
            for i, s in enumerate(client.sizes)
        )
        parts.append(f"<div>{chart}<div>{legend}</div></div>")
    if client.failures:
        items = "".join(f"<li>{escape(failure)}</li>" for failure in client.failures)
        parts.append(f"<p>Last failures:</p><ul>{items}</ul>")
    parts.append("</section>")
    return "".join(parts)
