"""Ticket printing: ticket → 1-bit image → ESC/POS bytes, or → PDF; printer backends.

Pure library code (no Flask, no Socket.IO). The pieces, each in its own module:

    ticket_data    TicketPrint, what a ticket carries; sample_ticket() for goldens/test pages
    layout         load_layout(path) / load_builtin_layout(name) → Layout (printer_templates/*.toml)
    render_image   render_ticket_image(ticket, layout) → PIL image, mode "1", 576 or 384 dots wide
    escpos_bytes   ticket_escpos_bytes(image) → bytes (ESC @, GS v 0 raster, feed, cut)
    escpos_decode  decode_escpos(bytes) → DecodedPrintout (tests, diagnostics)
    pdf_ticket     render_ticket_pdf(ticket, layout) → PDF bytes
    backends       open_printer(spec) → PrinterBackend; PrinterError; PrinterStatus

Names are re-exported lazily so importing ``server.printing`` stays cheap (no PIL,
reportlab or escpos until used). Rendering costs tens of milliseconds of CPU: under
eventlet run it (and USB/serial I/O) off the hub, e.g. in ``eventlet.tpool``.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "TicketPrint": "ticket_data",
    "sample_ticket": "ticket_data",
    "Layout": "layout",
    "load_layout": "layout",
    "load_builtin_layout": "layout",
    "render_ticket_image": "render_image",
    "FontNotFoundError": "render_image",
    "ticket_escpos_bytes": "escpos_bytes",
    "decode_escpos": "escpos_decode",
    "DecodedPrintout": "escpos_decode",
    "render_ticket_pdf": "pdf_ticket",
    "open_printer": "backends",
    "PrinterBackend": "backends",
    "PrinterError": "backends",
    "PrinterStatus": "backends",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
