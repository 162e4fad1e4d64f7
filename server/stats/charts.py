"""Server-side SVG charts (no JavaScript, no chart library): bars, lines and a heatmap.

Each chart has a visible title, axis titles, whole-number ticks on count axes, its legend, and a <title> per
mark (hovering shows the value; a screen reader can read it). A line chart may put some series on a second
axis at the right (minutes of wait beside counts of citizens). The heatmap has its colour scale. Numbers are
written in the page's language (server.stats.numbers). Colours come from CSS classes s0, s1 … (dashboard.css)
and, for the PDF report, from the same classes (server.stats.pdf_charts draws these SVGs with reportlab).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from markupsafe import Markup

from server.stats.numbers import tick

WIDTH, HEIGHT = 720, 290
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 56, 40
RIGHT_AXIS = 64  # room for a second axis
TICKS = 4


def nice_scale(largest: float, whole: bool) -> tuple[float, float]:
    """(top, step) of an axis from 0 with TICKS steps covering `largest`; `whole`: steps are whole numbers."""
    if largest <= 0:
        return float(TICKS), 1.0
    rough = largest / TICKS
    magnitude = 10 ** math.floor(math.log10(rough))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * magnitude
        if step >= rough and (not whole or float(step).is_integer()):
            return step * TICKS, step
    return largest, largest / TICKS  # not reached: factor 10 always fits


def _text(x: float, y: float, text: str, cls: str = "tick", anchor: str = "middle", extra: str = "") -> str:
    return f'<text class="{cls}" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{escape(text)}</text>'


def _frame(
    name: str, title: str, body: list[str], legend: Sequence[str] = (), start: int = 0, legend_x: float = LEFT
) -> Markup:
    items = "".join(
        f'<g class="legend s{start + i}"><rect x="{legend_x + i * 190}" y="30" width="12" height="12"/>'
        f'<text x="{legend_x + i * 190 + 18}" y="40">{escape(label)}</text></g>'
        for i, label in enumerate(legend)
    )
    return Markup(
        f'<svg class="chart" data-chart="{escape(name)}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        f"{_text(LEFT, 18, title, 'chart-title', 'start')}{items}{''.join(body)}</svg>"
    )


def _value_axis(top: float, step: float, x: float, side: str, label: str, language: str) -> list[str]:
    """Ticks and the axis title on one side (`side`: left | right); grid lines come with the left axis."""
    plot_h = HEIGHT - TOP - BOTTOM
    parts = []
    steps = round(top / step)
    for i in range(steps + 1):
        value = step * i
        y = HEIGHT - BOTTOM - plot_h * i / steps
        if side == "left":
            parts.append(f'<line class="grid" x1="{LEFT}" x2="{x:.1f}" y1="{y:.1f}" y2="{y:.1f}"/>')
            parts.append(_text(LEFT - 6, y + 4, tick(value, language), anchor="end"))
        else:
            parts.append(_text(x + 6, y + 4, tick(value, language), anchor="start"))
    middle = TOP + plot_h / 2
    at = 14 if side == "left" else WIDTH - 10
    parts.append(_text(at, middle, label, "axis-title", extra=f' transform="rotate(-90 {at} {middle:.1f})"'))
    return parts


def _category_axis(labels: Sequence[str], right: float, every: int, label: str) -> list[str]:
    slot = (right - LEFT) / max(len(labels), 1)
    parts = [
        _text(LEFT + slot * (i + 0.5), HEIGHT - BOTTOM + 16, text) for i, text in enumerate(labels) if i % every == 0
    ]
    if label:
        parts.append(_text((LEFT + right) / 2, HEIGHT - 6, label, "axis-title"))
    return parts


def bar_chart(
    name: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    y_title: str,
    x_title: str = "",
    language: str = "vi",
) -> Markup:
    """Grouped bars of counts: one group per label, one bar per series."""
    right = WIDTH - RIGHT
    top, step = nice_scale(max((v for _n, values in series for v in values), default=0), whole=True)
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (right - LEFT) / max(len(labels), 1)
    bar_w = slot * 0.8 / max(len(series), 1)
    body = _value_axis(top, step, right, "left", y_title, language)
    body += _category_axis(labels, right, max(1, len(labels) // 24), x_title)
    for s, (series_name, values) in enumerate(series):
        for i, value in enumerate(values):
            h = plot_h * value / top
            x = LEFT + slot * i + slot * 0.1 + bar_w * s
            body.append(
                f'<rect class="bar s{s}" x="{x:.1f}" y="{HEIGHT - BOTTOM - h:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}"><title>{escape(labels[i])} · {escape(series_name)}: '
                f"{tick(value, language)}</title></rect>"
            )
    return _frame(name, title, body, [n for n, _v in series] if len(series) > 1 else ())


def _polyline(
    s: int, name: str, labels: Sequence[str], values: Sequence[float | None], top: float, right: float, language: str
) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (right - LEFT) / max(len(labels), 1)
    points, dots = [], []
    for i, value in enumerate(values):
        if value is None:
            continue
        x, y = LEFT + slot * (i + 0.5), HEIGHT - BOTTOM - plot_h * value / top
        points.append(f"{x:.1f},{y:.1f}")
        dots.append(
            f'<circle class="dot s{s}" cx="{x:.1f}" cy="{y:.1f}" r="3"><title>{escape(labels[i])} · '
            f"{escape(name)}: {tick(round(value, 1), language)}</title></circle>"
        )
    line = [f'<polyline class="line s{s}" points="{" ".join(points)}"/>'] if len(points) > 1 else []
    return line + dots


def line_chart(
    name: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    y_title: str,
    right_series: int | None = None,
    right_title: str = "",
    language: str = "vi",
) -> Markup:
    """Lines over a sequence (days); None leaves a gap. Counts on the left axis (whole ticks); the series at
    index `right_series` (e.g. minutes of wait) on its own axis at the right."""
    right = WIDTH - (RIGHT_AXIS if right_series is not None else RIGHT)
    left_values = [v for i, (_n, vs) in enumerate(series) if i != right_series for v in vs if v is not None]
    top, step = nice_scale(max(left_values, default=0), whole=True)
    body = _value_axis(top, step, right, "left", y_title, language)
    body += _category_axis(labels, right, max(1, len(labels) // 10), "")
    for s, (series_name, values) in enumerate(series):
        scale_top = top
        if s == right_series:
            scale_top, r_step = nice_scale(max((v for v in values if v is not None), default=0), whole=False)
            body += _value_axis(scale_top, r_step, right, "right", right_title, language)
        body += _polyline(s, series_name, labels, values, scale_top, right, language)
    return _frame(name, title, body, [n for n, _v in series])


def heatmap(
    name: str,
    title: str,
    rows: Sequence[str],
    columns: Sequence[str],
    values: Sequence[Sequence[float]],
    *,
    scale_title: str,
    language: str = "vi",
) -> Markup:
    """A grid of cells whose opacity grows with the value (weekday × hour), with its colour scale."""
    top = max((v for row in values for v in row), default=0) or 1
    left, right = LEFT, WIDTH - 110
    cell_w = (right - left) / max(len(columns), 1)
    cell_h = (HEIGHT - TOP - BOTTOM) / max(len(rows), 1)
    body = []
    for r, row_label in enumerate(rows):
        y = TOP + cell_h * r
        body.append(_text(left - 6, y + cell_h / 2 + 4, row_label, anchor="end"))
        for c, value in enumerate(values[r]):
            body.append(
                f'<rect class="cell" x="{left + cell_w * c:.1f}" y="{y:.1f}" width="{cell_w - 1:.1f}" '
                f'height="{cell_h - 1:.1f}" fill-opacity="{_opacity(value, top):.2f}"><title>{escape(row_label)} '
                f"{escape(columns[c])}: {tick(value, language)}</title></rect>"
            )
    body += [_text(left + cell_w * (c + 0.5), HEIGHT - BOTTOM + 16, column) for c, column in enumerate(columns)]
    body += _scale(right + 24, top, scale_title, language)
    return _frame(name, title, body)


def _opacity(value: float, top: float) -> float:
    return 0.06 + 0.94 * value / top if value else 0.03


def _scale(x: float, top: float, label: str, language: str) -> list[str]:
    """The heatmap's legend: five swatches from 0 to the largest value, with their numbers."""
    parts = [_text(x, TOP - 8, label, "axis-title", "start")]
    steps = 5
    height = (HEIGHT - TOP - BOTTOM) / steps
    for i in range(steps):
        value = top * (steps - 1 - i) / (steps - 1)
        y = TOP + height * i
        parts.append(
            f'<rect class="cell scale" x="{x:.1f}" y="{y:.1f}" width="18" height="{height - 2:.1f}" '
            f'fill-opacity="{_opacity(value, top):.2f}"/>'
        )
        parts.append(_text(x + 24, y + height / 2 + 3, tick(round(value), language), anchor="start"))
    return parts
