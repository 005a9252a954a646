"""Small inline SVG charts: each database's stored size over time, one line per database.

No script, no external font or stylesheet: the chart is plain SVG inside the page, with a
`<title>` on every point for the exact size.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

from domain.models.report import SizeSeries

WIDTH, HEIGHT = 420, 140
LEFT, RIGHT, TOP, BOTTOM = 56, 8, 10, 22
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


def human_bytes(size: float) -> str:
    """Return a size as `12.3 MB` (powers of 1000, as disks and shares are sold)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(size) < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"


def color(index: int) -> str:
    """Return the line colour of the `index`-th database."""
    return PALETTE[index % len(PALETTE)]


def size_chart(series: tuple[SizeSeries, ...], title: str) -> str:
    """Return an inline SVG of stored bytes per database over time (empty text when none)."""
    points = [(s, p) for s in series for p in s.points]
    if not points:
        return ""
    times = [datetime.fromisoformat(p.time).timestamp() for _, p in points]
    low, high = min(times), max(times)
    top = max(p.bytes for _, p in points) or 1
    span = (high - low) or 1.0
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(moment: str) -> float:
        offset = datetime.fromisoformat(moment).timestamp() - low
        return LEFT + (inner_w / 2 if high == low else inner_w * offset / span)

    def y(size: int) -> float:
        return TOP + inner_h * (1 - size / top)

    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{LEFT}" y1="{TOP + inner_h}" x2="{WIDTH - RIGHT}" y2="{TOP + inner_h}" '
        'class="axis"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + inner_h}" class="axis"/>',
        f'<text x="{LEFT - 4}" y="{TOP + 8}" text-anchor="end">{human_bytes(top)}</text>',
        f'<text x="{LEFT - 4}" y="{TOP + inner_h}" text-anchor="end">0</text>',
        f'<text x="{LEFT}" y="{HEIGHT - 6}">{escape(_day(low))}</text>',
        f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 6}" text-anchor="end">{escape(_day(high))}</text>',
    ]
    for index, one in enumerate(series):
        stroke = color(index)
        coords = " ".join(f"{x(p.time):.1f},{y(p.bytes):.1f}" for p in one.points)
        parts.append(
            f'<polyline fill="none" stroke="{stroke}" stroke-width="1.5" points="{coords}"/>'
        )
        for point in one.points:
            label = f"{one.database} {point.run_id}: {human_bytes(point.bytes)} ({point.bytes} B)"
            parts.append(
                f'<circle cx="{x(point.time):.1f}" cy="{y(point.bytes):.1f}" r="2.5" '
                f'fill="{stroke}"><title>{escape(label)}</title></circle>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _day(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).date().isoformat()
