"""Server-side SVG charts (no JavaScript, no chart library): bars, lines and a heatmap.

Each function returns markup-safe SVG that scales with its container (viewBox) and carries a <title> per
mark, so hovering shows the value and a screen reader can read it. Colours come from CSS classes s0, s1 …
(dashboard.css), the heatmap from a computed opacity.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 28, 36


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** len(str(int(value))) / 10
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return value


def _fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _frame(name: str, title: str, body: list[str], legend: Sequence[str] = ()) -> Markup:
    items = "".join(
        f'<g class="legend s{i}"><rect x="{LEFT + i * 160}" y="6" width="12" height="12"/>'
        f'<text x="{LEFT + i * 160 + 18}" y="16">{escape(label)}</text></g>'
        for i, label in enumerate(legend)
    )
    return Markup(
        f'<svg class="chart" data-chart="{escape(name)}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        f"{items}{''.join(body)}</svg>"
    )


def _axes(top: float, labels: Sequence[str], every: int = 1) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    plot_w = WIDTH - LEFT - RIGHT
    parts = []
    for i in range(5):
        value = top * i / 4
        y = HEIGHT - BOTTOM - plot_h * i / 4
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(value)}</text>'
        )
    slot = plot_w / max(len(labels), 1)
    for i, label in enumerate(labels):
        if i % every == 0:
            x = LEFT + slot * (i + 0.5)
            parts.append(
                f'<text class="tick" x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">{escape(label)}</text>'
            )
    return parts


def bar_chart(name: str, title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]]) -> Markup:
    """Grouped bars: one group per label, one bar per series."""
    top = _nice_max(max((v for _n, values in series for v in values), default=0))
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    bar_w = slot * 0.8 / max(len(series), 1)
    body = _axes(top, labels, every=max(1, len(labels) // 24))
    for s, (series_name, values) in enumerate(series):
        for i, value in enumerate(values):
            h = plot_h * value / top
            x = LEFT + slot * i + slot * 0.1 + bar_w * s
            body.append(
                f'<rect class="bar s{s}" x="{x:.1f}" y="{HEIGHT - BOTTOM - h:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}"><title>{escape(labels[i])} · {escape(series_name)}: '
                f"{_fmt(value)}</title></rect>"
            )
    return _frame(name, title, body, [n for n, _v in series] if len(series) > 1 else ())


def line_chart(
    name: str, title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]]
) -> Markup:
    """Lines over a sequence (days); None leaves a gap."""
    top = _nice_max(max((v for _n, values in series for v in values if v is not None), default=0))
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    body = _axes(top, labels, every=max(1, len(labels) // 10))
    for s, (series_name, values) in enumerate(series):
        points = []
        for i, value in enumerate(values):
            if value is None:
                continue
            x, y = LEFT + slot * (i + 0.5), HEIGHT - BOTTOM - plot_h * value / top
            points.append(f"{x:.1f},{y:.1f}")
            body.append(
                f'<circle class="dot s{s}" cx="{x:.1f}" cy="{y:.1f}" r="3"><title>{escape(labels[i])} · '
                f"{escape(series_name)}: {_fmt(value)}</title></circle>"
            )
        if len(points) > 1:
            body.insert(0, f'<polyline class="line s{s}" points="{" ".join(points)}"/>')
    return _frame(name, title, body, [n for n, _v in series])


def heatmap(
    name: str, title: str, rows: Sequence[str], columns: Sequence[str], values: Sequence[Sequence[float]]
) -> Markup:
    """A grid of cells whose opacity grows with the value (weekday × hour)."""
    top = max((v for row in values for v in row), default=0) or 1
    left = 60
    cell_w = (WIDTH - left - RIGHT) / max(len(columns), 1)
    cell_h = (HEIGHT - TOP - BOTTOM) / max(len(rows), 1)
    body = []
    for r, row_label in enumerate(rows):
        y = TOP + cell_h * r
        body.append(
            f'<text class="tick" x="{left - 6}" y="{y + cell_h / 2 + 4:.1f}" text-anchor="end">'
            f"{escape(row_label)}</text>"
        )
        for c, value in enumerate(values[r]):
            opacity = 0.06 + 0.94 * value / top if value else 0.03
            body.append(
                f'<rect class="cell" x="{left + cell_w * c:.1f}" y="{y:.1f}" width="{cell_w - 1:.1f}" '
                f'height="{cell_h - 1:.1f}" fill-opacity="{opacity:.2f}"><title>{escape(row_label)} '
                f"{escape(columns[c])}: {_fmt(value)}</title></rect>"
            )
    for c, column in enumerate(columns):
        body.append(
            f'<text class="tick" x="{left + cell_w * (c + 0.5):.1f}" y="{HEIGHT - BOTTOM + 16}" '
            f'text-anchor="middle">{escape(column)}</text>'
        )
    return _frame(name, title, body)
