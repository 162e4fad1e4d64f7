"""Render the golden previews of the bundled layouts from the fixed sample ticket.

    python -m printer_templates.make_previews           # write previews/*.png
    python -m printer_templates.make_previews --check   # exit 1 if a preview is stale

The sample ticket and its fixed clock live in ``server.printing.ticket_data``
(``sample_ticket``); the tests render the same thing and compare pixel for pixel.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from PIL import Image, ImageChops

from printer_templates import PREVIEW_DIR
from server.printing.layout import load_builtin_layout
from server.printing.pdf_ticket import render_ticket_pdf
from server.printing.render_image import render_ticket_image
from server.printing.ticket_data import sample_ticket

#: PDF previews are rendered at 3 × 72 = 216 dpi.
PDF_PREVIEW_SCALE = 3


def pdf_page_image(data: bytes, scale: float = PDF_PREVIEW_SCALE) -> Image.Image:
    """The first page of a PDF rendered by pdfium, as a greyscale image."""
    import pypdfium2 as pdfium  # dev dependency: previews and tests only

    doc = pdfium.PdfDocument(data)
    try:
        page = doc[0]
        try:
            return page.render(scale=scale).to_pil().convert("L")
        finally:
            page.close()
    finally:
        doc.close()


def _thermal(name: str) -> Callable[[], Image.Image]:
    return lambda: render_ticket_image(sample_ticket(), load_builtin_layout(name))


def _pdf(name: str) -> Callable[[], Image.Image]:
    return lambda: pdf_page_image(render_ticket_pdf(sample_ticket(), load_builtin_layout(name)))


#: Preview name → how to render it from the sample ticket.
PREVIEWS: dict[str, Callable[[], Image.Image]] = {
    "ticket_80mm": _thermal("ticket_80mm"),
    "ticket_58mm": _thermal("ticket_58mm"),
    "ticket_pdf": _pdf("ticket_pdf"),
}


def same_pixels(a: Image.Image, b: Image.Image) -> bool:
    """True when both images have the same size and identical pixels."""
    if a.size != b.size:
        return False
    return ImageChops.difference(a.convert("L"), b.convert("L")).getbbox() is None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed previews, write nothing")
    args = parser.parse_args(argv)
    PREVIEW_DIR.mkdir(exist_ok=True)
    stale = []
    for name, render in PREVIEWS.items():
        image = render()
        path = PREVIEW_DIR / f"{name}.png"
        if args.check:
            ok = path.is_file() and same_pixels(image, Image.open(path))
            stale += [] if ok else [name]
            print(f"{'ok   ' if ok else 'STALE'} {path} {image.width}x{image.height}")
        else:
            image.save(path, optimize=True)
            print(f"wrote {path} {image.width}x{image.height} mode {image.mode}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
