"""The history's SVG charts (server.stats.charts) drawn in the PDF report with reportlab: one chart code for the
page and the paper. Only what charts.py writes is read: rect, line, polyline, circle, text (with a rotation),
groups carrying a class; colours by class as in dashboard.css."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from reportlab.graphics.shapes import Circle, Drawing, Group, Line, PolyLine, Rect, String
from reportlab.lib import colors

SVG = "{http://www.w3.org/2000/svg}"
SERIES = {"s0": "#3465a4", "s1": "#f57900", "s2": "#4e9a06"}
INK, MUTED, GRID, ACCENT, LINE = "#1d2733", "#5b6875", "#e3e7eb", "#204a87", "#d5dbe1"


def _colour(classes: list[str], default: str) -> colors.Color:
    for cls in classes:
        if cls in SERIES:
            return colors.HexColor(SERIES[cls])
    if "cell" in classes:
        return colors.HexColor(ACCENT)
    return colors.HexColor(default)


class _Painter:
    """Turns the SVG elements into reportlab shapes in a Drawing `scale` times the SVG's size (y flipped)."""

    def __init__(self, height: float, scale: float, fonts: tuple[str, str]) -> None:
        self.height = height
        self.scale = scale
        self.regular, self.bold = fonts

    def y(self, value: float) -> float:
        return (self.height - value) * self.scale

    def shapes(self, element: ET.Element, inherited: list[str]) -> list[Any]:
        classes = inherited + (element.get("class") or "").split()
        tag = element.tag.replace(SVG, "")
        draw = getattr(self, f"_{tag}", None)
        found = [draw(element, classes)] if draw else []
        if tag in ("svg", "g"):
            for child in element:
                found += self.shapes(child, classes if tag == "g" else [])
        return [shape for shape in found if shape is not None]

    def _rect(self, e: ET.Element, classes: list[str]) -> Rect:
        s = self.scale
        x, y, w, h = (float(e.get(k, 0)) for k in ("x", "y", "width", "height"))
        rect = Rect(x * s, self.y(y + h), w * s, h * s, strokeColor=None, fillColor=_colour(classes, INK))
        rect.fillOpacity = float(e.get("fill-opacity", 1))
        if "scale" in classes:
            rect.strokeColor, rect.strokeWidth = colors.HexColor(LINE), 0.3
        return rect

    def _line(self, e: ET.Element, classes: list[str]) -> Line:
        s = self.scale
        x1, x2, y1, y2 = (float(e.get(k, 0)) for k in ("x1", "x2", "y1", "y2"))
        return Line(x1 * s, self.y(y1), x2 * s, self.y(y2), strokeColor=colors.HexColor(GRID), strokeWidth=0.5)

    def _polyline(self, e: ET.Element, classes: list[str]) -> PolyLine:
        points: list[float] = []
        for pair in (e.get("points") or "").split():
            x, y = pair.split(",")
            points += [float(x) * self.scale, self.y(float(y))]
        return PolyLine(points, strokeColor=_colour(classes, INK), strokeWidth=1.5)

    def _circle(self, e: ET.Element, classes: list[str]) -> Circle:
        s = self.scale
        cx, cy, r = (float(e.get(k, 0)) for k in ("cx", "cy", "r"))
        return Circle(cx * s, self.y(cy), r * s, fillColor=_colour(classes, INK), strokeColor=None)

    def _text(self, e: ET.Element, classes: list[str]) -> Any:
        s = self.scale
        x, y = float(e.get("x", 0)), float(e.get("y", 0))
        title = "chart-title" in classes
        size = (15 if title else 11) * s
        anchor = {"middle": "middle", "end": "end"}.get(e.get("text-anchor", "start"), "start")
        colour = INK if title or "legend" in classes else MUTED
        rotated = re.match(r"rotate\((-?[\d.]+) ([\d.]+) ([\d.]+)\)", e.get("transform", ""))
        text = String(
            0 if rotated else x * s,
            0 if rotated else self.y(y),
            e.text or "",
            fontName=self.bold if title else self.regular,
            fontSize=size,
            textAnchor=anchor,
            fillColor=colors.HexColor(colour),
        )
        if not rotated:
            return text
        group = Group(text)
        group.translate(x * s, self.y(y))
        group.rotate(-float(rotated[1]))
        return group

    def _title(self, e: ET.Element, classes: list[str]) -> None:
        return None  # tooltips: not on paper


def drawing_of(svg: str, width: float, fonts: tuple[str, str]) -> Drawing:
    """The SVG chart as a reportlab Drawing `width` points wide (height in proportion)."""
    root = ET.fromstring(svg)
    _x, _y, svg_width, svg_height = (float(v) for v in (root.get("viewBox") or "0 0 720 290").split())
    scale = width / svg_width
    drawing = Drawing(width, svg_height * scale)
    painter = _Painter(svg_height, scale, fonts)
    for child in root:
        for shape in painter.shapes(child, []):
            drawing.add(shape)
    return drawing
