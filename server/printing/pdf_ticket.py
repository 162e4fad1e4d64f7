"""Render a ticket as a one-page PDF (80 mm roll width) with reportlab.

reportlab does no text shaping: text is NFC (precomposed Vietnamese letters), the
font is a TTF with Vietnamese glyphs (DejaVu/Noto), and every line is measured with
``stringWidth`` and wrapped. The page grows taller if the content needs it, so
nothing is clipped and the ticket stays one page.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from server.printing.layout import (
    Align,
    Block,
    Layout,
    NumberBlock,
    QrBlock,
    RuleBlock,
    SpacerBlock,
    TextBlock,
    fill_template,
)
from server.printing.render_image import ink_box_em, qr_matrix, resolve_font, wrap_balanced
from server.printing.ticket_data import TicketPrint

FONT_REGULAR, FONT_BOLD = "LuotSans", "LuotSans-Bold"

# A piece knows its height (pt) and draws itself given the canvas, the left edge and its top y.
Draw = Callable[[Canvas, float, float], None]


@dataclass(frozen=True)
class _Piece:
    height: float
    draw: Draw


@lru_cache(maxsize=1)
def register_fonts() -> tuple[str, str]:
    """Register the Vietnamese-capable TTFs with reportlab once; return (regular, bold) names."""
    pdfmetrics.registerFont(TTFont(FONT_REGULAR, str(resolve_font(False))))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(resolve_font(True))))
    return FONT_REGULAR, FONT_BOLD


def render_ticket_pdf(ticket: TicketPrint, layout: Layout) -> bytes:
    """The ticket as PDF bytes: one page ``page_width_mm`` wide, at least ``page_height_mm`` tall.

    The output is reproducible (no timestamp or random id in the file).
    """
    if layout.target != "pdf" or layout.page_width_mm is None or layout.page_height_mm is None:
        raise ValueError(f"{layout.source}: layout target is {layout.target!r}, not 'pdf'")
    register_fonts()
    width = layout.page_width_mm * mm
    content = layout.content_width * mm
    values = ticket.template_values()
    pieces = [p for block in layout.blocks if (p := _piece(block, values, content)) is not None]
    needed = (layout.margin_top + layout.margin_bottom) * mm + sum(p.height for p in pieces)
    height = max(layout.page_height_mm * mm, needed)

    buf = io.BytesIO()
    canvas = Canvas(buf, pagesize=(width, height), invariant=True, pageCompression=1, initialFontName=FONT_REGULAR)
    canvas.setTitle(f"Vé số thứ tự {ticket.display_number}")
    canvas.setAuthor(ticket.centre_name)
    canvas.setSubject(f"{ticket.agency} — {ticket.service}")
    canvas.setCreator("Lượt")
    y = height - layout.margin_top * mm
    for piece in pieces:
        piece.draw(canvas, layout.margin_x * mm, y)
        y -= piece.height
    canvas.showPage()
    canvas.save()
    return buf.getvalue()


def _piece(block: Block, values: dict[str, str | None], width: float) -> _Piece | None:
    match block:
        case TextBlock():
            text = fill_template(block.template, values)
            return None if text is None else _text(text, block, width)
        case NumberBlock():
            return _number(values[block.field] or "", block, width)
        case QrBlock():
            data = values[block.field]
            return _qr(data, block, width) if data else None
        case RuleBlock():
            return _rule(block, width)
        case SpacerBlock():
            return _Piece(block.height * mm, lambda c, x, y: None) if block.height else None
    raise TypeError(f"unknown block {block!r}")


def _x(align: Align, left: float, available: float, used: float) -> float:
    if align == "left":
        return left
    if align == "right":
        return left + max(0.0, available - used)
    return left + max(0.0, (available - used) / 2)


def _text(text: str, block: TextBlock, width: float) -> _Piece:
    font = FONT_BOLD if block.bold else FONT_REGULAR
    size = block.size
    pad = size * 0.3 if block.inverse else 0.0
    inner = width - 2 * pad
    lines = wrap_balanced(text, lambda s: pdfmetrics.stringWidth(s, font, size), inner)
    boxes = [ink_box_em(line, block.bold) for line in lines]
    rise = max(-b[1] for b in boxes) * size
    fall = max(b[3] for b in boxes) * size
    _left, ascent, _right, descent = ink_box_em("", block.bold)  # the font's own, in em
    step = (descent - ascent) * size * block.line_spacing
    height = rise + fall + step * (len(lines) - 1) + 2 * pad

    def draw(c: Canvas, left: float, top: float) -> None:
        if block.inverse:
            c.setFillGray(0)
            c.rect(left, top - height, width, height, stroke=0, fill=1)
        c.setFillGray(1 if block.inverse else 0)
        c.setFont(font, size)
        for i, line in enumerate(lines):
            used = pdfmetrics.stringWidth(line, font, size)
            c.drawString(_x(block.align, left + pad, inner, used), top - pad - rise - i * step, line)

    return _Piece(height, draw)


def _number(text: str, block: NumberBlock, width: float) -> _Piece:
    font = FONT_BOLD if block.bold else FONT_REGULAR
    size = block.size
    while size > 6 and pdfmetrics.stringWidth(text, font, size) > width:
        size *= 0.94
    _left, top, _right, bottom = ink_box_em(text, block.bold, tight=True)
    pad = size * 0.05
    height = (bottom - top) * size + 2 * pad

    def draw(c: Canvas, left: float, y: float) -> None:
        used = pdfmetrics.stringWidth(text, font, size)
        c.setFillGray(0)
        c.setFont(font, size)
        c.drawString(_x(block.align, left, width, used), y - pad + top * size, text)

    return _Piece(height, draw)


def _qr(data: str, block: QrBlock, width: float) -> _Piece:
    matrix = qr_matrix(data, block.quiet_zone)
    n = len(matrix)
    side = min(block.size * mm, width)
    module = side / n
    # One rectangle per horizontal run of dark modules keeps the PDF small.
    runs = []
    for r, row in enumerate(matrix):
        start = None
        for col, dark in enumerate([*row, False]):
            if dark and start is None:
                start = col
            elif not dark and start is not None:
                runs.append((r, start, col - start))
                start = None

    def draw(c: Canvas, left: float, top: float) -> None:
        x0 = _x(block.align, left, width, side)
        path = c.beginPath()  # one filled path: no anti-aliasing seams between modules
        for r, col, length in runs:
            path.rect(x0 + col * module, top - (r + 1) * module, length * module, module)
        c.setFillGray(0)
        c.drawPath(path, stroke=0, fill=1)

    return _Piece(side, draw)


def _rule(block: RuleBlock, width: float) -> _Piece:
    thickness = block.thickness * mm

    def draw(c: Canvas, left: float, top: float) -> None:
        c.setStrokeGray(0)
        c.setLineWidth(thickness)
        if block.dashed:
            c.setDash(2 * mm, 1.5 * mm)
        c.line(left, top - thickness / 2, left + width, top - thickness / 2)
        c.setDash()

    return _Piece(thickness, draw)
