"""A QR code as SVG (the phone link on the kiosk's screen, a device's address in the administration)."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg


def qr_svg(text: str) -> bytes:
    """`text` as an SVG document: one path, 2-module border, error correction M (15 %); scales with its box."""
    image = qrcode.make(
        text,
        image_factory=qrcode.image.svg.SvgPathFillImage,
        border=2,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
    )
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()
