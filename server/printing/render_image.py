"""Render a ticket as a 1-bit image for thermal printers (576 dots = 80 mm, 384 dots = 58 mm).

Many printers cannot print Vietnamese from a code page, so the whole ticket is one
bitmap. Text is drawn anti-aliased in greyscale, then thresholded to black/white;
long lines wrap on words (measured with the font), so nothing is ever clipped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

import qrcode
import qrcode.constants
from PIL import Image, ImageChops, ImageDraw, ImageFont

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
from server.printing.ticket_data import TicketPrint

FONT_CANDIDATES: dict[bool, tuple[str, ...]] = {
    False: (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    ),
    True: (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
        "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
    ),
}

WHITE, BLACK = 255, 0
#: Grey level at or below which an anti-aliased pixel prints black.
INK_THRESHOLD = 140


class FontNotFoundError(RuntimeError):
    """No font with Vietnamese glyphs was found on this machine."""


def resolve_font(bold: bool = False, candidates: Sequence[str | Path] | None = None) -> Path:
    """Path of a TTF with Vietnamese glyphs: DejaVu Sans, else Noto Sans (Debian paths)."""
    tried = [Path(c) for c in (candidates if candidates is not None else FONT_CANDIDATES[bold])]
    for path in tried:
        if path.is_file():
            return path
    raise FontNotFoundError(
        f"no {'bold ' if bold else ''}font with Vietnamese glyphs found; tried: "
        + ", ".join(str(p) for p in tried)
        + " (install the Debian package fonts-dejavu-core or fonts-noto-core)"
    )


@lru_cache(maxsize=64)
def _font(bold: bool, size: int) -> ImageFont.FreeTypeFont:
    # BASIC layout: NFC text needs no shaping, and it renders the same with or without libraqm.
    return ImageFont.truetype(str(resolve_font(bold)), size, layout_engine=ImageFont.Layout.BASIC)


def ink_box_em(text: str, bold: bool, tight: bool = False) -> tuple[float, float, float, float]:
    """Ink box (left, top, right, bottom) of ``text`` in em, relative to the start of its
    baseline, y down. Unless ``tight``, top/bottom are widened to the font's ascent/descent.
    Lets the PDF renderer leave room for stacked Vietnamese marks as the image renderer does."""
    font = _font(bold, 1000)
    left, top, right, bottom = font.getbbox(text, anchor="ls") if text else (0, 0, 0, 0)
    if not tight:
        ascent, descent = font.getmetrics()
        top, bottom = min(top, -ascent), max(bottom, descent)
    return left / 1000, top / 1000, right / 1000, bottom / 1000


def render_ticket_image(ticket: TicketPrint, layout: Layout) -> Image.Image:
    """The whole ticket as a mode "1" image exactly ``layout.width_dots`` wide."""
    if layout.target != "thermal" or layout.width_dots is None:
        raise ValueError(f"{layout.source}: layout target is {layout.target!r}, not 'thermal'")
    width = layout.width_dots
    content = round(layout.content_width)
    values = ticket.template_values()
    pieces = [p for block in layout.blocks if (p := _render_block(block, values, content)) is not None]

    top, bottom = round(layout.margin_top), round(layout.margin_bottom)
    height = top + sum(img.height for img, _ in pieces) + bottom
    canvas = Image.new("L", (width, max(height, 1)), WHITE)
    x0, y = round(layout.margin_x), top
    for img, align in pieces:
        canvas.paste(img, (x0 + _offset(align, content, img.width), y))
        y += img.height
    return canvas.point(lambda v: 255 if v > INK_THRESHOLD else 0, mode="1")


def _render_block(block: Block, values: dict[str, str | None], width: int) -> tuple[Image.Image, Align] | None:
    match block:
        case TextBlock():
            text = fill_template(block.template, values)
            return None if text is None else (_text(text, block, width), block.align)
        case NumberBlock():
            return _number(values[block.field] or "", block, width), block.align
        case QrBlock():
            data = values[block.field]
            return None if not data else (_qr(data, block, width), block.align)
        case RuleBlock():
            return _rule(block, width), "left"
        case SpacerBlock():
            height = round(block.height)
            return (Image.new("L", (width, height), WHITE), "left") if height else None
    raise TypeError(f"unknown block {block!r}")


def wrap_text(text: str, fits: Callable[[str], bool]) -> list[str]:
    """Greedy word wrap; ``fits(s)`` tells whether ``s`` fits on one line.

    Explicit newlines are kept; a word too long for a line (a URL) is split.
    """
    lines: list[str] = []
    for paragraph in text.split("\n"):
        current = ""
        for word in filter(None, paragraph.split(" ")):  # not split(): no-break spaces hold
            candidate = f"{current} {word}" if current else word
            if fits(candidate):
                current = candidate
                continue
            if current:
                lines.append(current)
            while len(word) > 1 and not fits(word):
                cut = next(i for i in range(len(word) - 1, 0, -1) if i == 1 or fits(word[:i]))
                lines.append(word[:cut])
                word = word[cut:]
            current = word
        lines.append(current)
    return lines


def wrap_balanced(text: str, measure: Callable[[str], float], width: float) -> list[str]:
    """Wrap to ``width`` in as few lines as greedy wrapping needs, but with even line lengths
    (no single orphan word on the last line)."""
    measure = lru_cache(maxsize=None)(measure)  # the bisection measures the same strings again
    lines = wrap_text(text, lambda s: measure(s) <= width)
    if len(lines) < 2:
        return lines
    low, high = 0.0, float(width)
    while high - low > 1:  # bisect the narrowest width that keeps the same number of lines
        mid = (low + high) / 2

        def fits(line: str, limit: float = mid) -> bool:
            return measure(line) <= limit

        if len(wrap_text(text, fits)) == len(lines):
            high = mid
        else:
            low = mid
    return wrap_text(text, lambda s: measure(s) <= high)


def _ink_width(font: ImageFont.FreeTypeFont, text: str) -> float:
    left, _top, right, _bottom = font.getbbox(text, anchor="ls")
    return max(font.getlength(text), right) - min(0, left)


def _text(text: str, block: TextBlock, width: int) -> Image.Image:
    font = _font(block.bold, max(1, round(block.size)))
    pad = round(block.size * 0.3) if block.inverse else 0
    inner = width - 2 * pad
    lines = wrap_balanced(text, lambda s: _ink_width(font, s), inner)
    ascent, descent = font.getmetrics()
    step = round((ascent + descent) * block.line_spacing)
    # Stacked Vietnamese marks (Ấ, Ở, Ữ) may rise above the font's ascent: make room.
    boxes = [font.getbbox(line, anchor="ls") for line in lines]
    rise = max([ascent, *(-b[1] for b in boxes)])
    fall = max([descent, *(b[3] for b in boxes)])
    height = rise + fall + step * (len(lines) - 1) + 2 * pad
    img = Image.new("L", (width, int(height)), BLACK if block.inverse else WHITE)  # FreeType boxes: whole pixels
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        x = pad + _offset(block.align, inner, round(_ink_width(font, line)))
        draw.text((x, pad + rise + i * step), line, font=font, fill=WHITE if block.inverse else BLACK, anchor="ls")
    return img


def _number(text: str, block: NumberBlock, width: int) -> Image.Image:
    size = max(1, round(block.size))
    font = _font(block.bold, size)
    while size > 8 and _ink_width(font, text) > width:
        size = int(size * 0.94)
        font = _font(block.bold, size)
    left, top, right, bottom = font.getbbox(text, anchor="ls")
    pad = max(2, size // 20)
    slack = size // 8  # room for side bearings; cropped away below
    img = Image.new("L", (int(right - left) + 2 * slack, int(bottom - top) + 2 * pad), WHITE)  # whole pixels
    ImageDraw.Draw(img).text((slack - left, pad - top), text, font=font, fill=BLACK, anchor="ls")
    # Crop to the ink, not the advance width, so the digits are centred optically.
    ink = ImageChops.invert(img).getbbox()
    return img.crop((ink[0], 0, ink[2], img.height)) if ink else img


def qr_matrix(data: str, quiet_zone: int) -> list[list[bool]]:
    """QR modules (True = dark) for ``data``, error correction M, quiet zone included."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=1, border=quiet_zone)
    qr.add_data(data)
    qr.make(fit=True)
    return qr.get_matrix()


def _qr(data: str, block: QrBlock, width: int) -> Image.Image:
    matrix = qr_matrix(data, block.quiet_zone)
    n = len(matrix)
    box = int(min(block.size, width) // n)
    if box < 2:
        raise ValueError(f"QR code of {len(data)} characters needs {2 * n} dots, only {min(block.size, width)} given")
    small = Image.frombytes("L", (n, n), bytes(BLACK if dark else WHITE for row in matrix for dark in row))
    return small.resize((n * box, n * box), Image.Resampling.NEAREST)


def _rule(block: RuleBlock, width: int) -> Image.Image:
    thickness = max(1, round(block.thickness))
    img = Image.new("L", (width, thickness), BLACK)
    if block.dashed:
        draw = ImageDraw.Draw(img)
        dash = max(4, thickness * 4)
        for x in range(dash, width, 2 * dash):
            draw.rectangle((x, 0, x + dash - 1, thickness - 1), fill=WHITE)
    return img


def _offset(align: Align, available: int, used: int) -> int:
    if align == "left":
        return 0
    if align == "right":
        return max(0, available - used)
    return max(0, (available - used) // 2)
