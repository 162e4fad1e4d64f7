"""A device's full address (with its token) and the QR code to scan it on the TV or tablet."""

from __future__ import annotations

import ipaddress
from urllib.parse import quote

from flask import request
from markupsafe import Markup

from server.context import luot
from server.domain.vocabulary import DeviceKind

PATHS: dict[str, str] = {
    DeviceKind.KIOSK: "/kiosk/",
    DeviceKind.BOARD: "/display/",
    DeviceKind.COUNTER_DISPLAY: "/display/counter",
    DeviceKind.RATING: "/counter/rating",
}


def base_url() -> str:
    """LUOT_PUBLIC_URL; else the address this page was opened at, unless that is the machine itself (then the
    server's own LAN address, as `luot serve` prints it)."""
    settings = luot().settings
    if settings.public_url:
        return settings.public_url.rstrip("/")
    host = request.host.rsplit(":", 1)[0].strip("[]")
    try:
        local = ipaddress.ip_address(host).is_loopback
    except ValueError:
        local = host == "localhost"
    return settings.base_url if local else request.host_url.rstrip("/")


def device_address(kind: str, token: str) -> str:
    """The address to open on the device: its page with `?token=`."""
    return f"{base_url()}{PATHS.get(kind, '/display/')}?token={quote(token)}"


def qr_svg(text: str) -> Markup:
    """`text` as an inline SVG QR code (a path; scales with its box)."""
    from server.qr_svg import qr_svg as svg_document

    svg = svg_document(text).decode()
    return Markup(svg[svg.index("<svg") :])
