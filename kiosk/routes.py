"""The kiosk surface: the touchscreen page where citizens take a number, and its printing hook.

GET /kiosk/?token=<device token>   the page (Vietnamese by default, English by a toggle or ?lang=en)
GET /kiosk/qr/<tracking>.svg       the QR code of a ticket's phone-tracking URL, drawn on the server

The page talks to the public REST API (GET /api/v1/services, POST /api/v1/tickets) with the kiosk's
device token and follows the hall over Socket.IO (web/lib/live.js). Printing happens on the server
(server.printing.jobs) after the ticket is committed.

Kiosk device settings (Device.settings):
    printer         "" (none), network:HOST[:PORT], usb:VID:PID, serial:DEVICE[:BAUD], file:PATH, pdf:DIR,
                    dummy, or agent (a printer on the kiosk PC, driven by `luot kiosk-agent`)
    layout          ticket_80mm (default), ticket_58mm or ticket_pdf (printer_templates/)
    agency_ids      the agencies shown (default: all); with one, the kiosk opens on its services
    language        vi (default) or en: the language the page starts in
    return_seconds  how long the ticket stays on screen (15)
    idle_seconds    untouched seconds before a half-made choice goes back to the start (60)
    appointments    false hides the appointment check-in
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlmodel import select

from server.auth import Principal, device_principal, token_hash
from server.context import luot
from server.domain.vocabulary import PRIORITY_CLASSES, DeviceKind
from server.i18n import LANGUAGES, pick_language, translate
from server.models import Device, Site

kiosk = Blueprint("kiosk", __name__, url_prefix="/kiosk", template_folder="templates", static_folder="static")

TRACKING_TOKEN = re.compile(r"[A-Za-z0-9_-]{8,64}")
DEFAULT_RETURN_SECONDS = 15

#: Every English msgid the page shows (template and kiosk.js); translated in translations/vi-kiosk.po.
KIOSK_MESSAGES: tuple[str, ...] = (
    "Take a number",
    "Choose an agency",
    "Choose a service",
    "Back",
    "I have an appointment",
    "Priority (if any)",
    *(p.label.en for p in PRIORITY_CLASSES),
    "Connecting to the server…",
    "No connection to the server. Numbers cannot be issued right now: please wait a moment or ask at the help desk.",
    "Loading services…",
    "Your number",
    "People waiting ahead: {count}",
    "Estimated wait: about {minutes} min",
    "No counter is open yet",
    "No counter is open yet — expected to open at {time}",
    "You are next",
    "Counters: {counters}",
    "Scan to follow your turn on your phone",
    "Please watch the screen; a missed number must be taken again.",
    "Printing your ticket…",
    "Please take your printed ticket.",
    "The printer is out of paper — please ask at the help desk.",
    "The printer is not working — please ask at the help desk.",
    "Please note the number on the screen.",
    "Done",
    "Back to the start in {seconds} s",
    "Waiting: {count}",
    "About {minutes} min wait",
    "Outside receiving hours",
    "Hours: {hours}",
    "All numbers for today have been issued",
    "{count} numbers left today",
    "No service is taking numbers now",
    "Enter your appointment code",
    "Scan the QR code of your booking or of your chip ID card, or type the booking code.",
    "Check in",
    "Delete",
    "Clear",
    "Could not get a number",
    "The server did not answer. Please try again.",
    "Checking whether your number was issued…",
    "Please wait…",
    "Priority",
    "Mon",
    "Tue",
    "Wed",
    "Thu",
    "Fri",
    "Sat",
    "Sun",
    "This kiosk is not registered",
    "Open the kiosk with its device token: /kiosk/?token=…",
    "Pages",
    "Previous page",
    "Next page",
    "This screen stays until you touch Done.",
    "Find a procedure",
    "Keyboard",
    "Space",
    "Type a few letters of the procedure; accents are not needed (e.g. ly lich tu phap).",
    "{count} procedures found",
    "No procedure matches these words.",
)


def catalogue() -> dict[str, dict[str, str]]:
    """Every kiosk message in every language, for the page's language toggle."""
    return {message: {language: translate(message, language) for language in LANGUAGES} for message in KIOSK_MESSAGES}


def kiosk_principal(token: str) -> tuple[Principal, Site] | None:
    if not token:
        return None
    with luot().db.read() as db_session:
        device = db_session.exec(select(Device).where(Device.token_hash == token_hash(token))).first()
        if device is None or device.revoked or device.kind != DeviceKind.KIOSK:
            return None
        site = db_session.get(Site, device.site_id)
    return (device_principal(device), site) if site is not None else None


def page_config(principal: Principal, site: Site, token: str, language: str) -> dict[str, Any]:
    settings = principal.settings
    agency_ids = settings.get("agency_ids") or []
    return {
        "token": token,
        "device": {"id": principal.id, "name": principal.name},
        "site": {"id": site.id, "code": site.code, "name": site.name},
        "language": language,
        "agency_ids": [int(a) for a in agency_ids],
        "has_printer": bool(settings.get("printer")),
        "return_seconds": int(settings.get("return_seconds") or DEFAULT_RETURN_SECONDS),
        "idle_seconds": int(settings.get("idle_seconds") or 60),
        "appointments": bool(settings.get("appointments", True)),
        "urls": {
            "services": url_for("api.list_services"),
            "tickets": url_for("api.issue"),
            "qr": url_for("kiosk.page") + "qr/",
        },
        "priorities": [{"code": p.code, "label": p.label.en} for p in PRIORITY_CLASSES],
        "messages": catalogue(),
    }


@kiosk.get("/")
def page() -> ResponseReturnValue:
    token = request.args.get("token", "").strip()
    found = kiosk_principal(token)
    settings = luot().settings
    if found is None:
        return render_template("kiosk_denied.html"), 403
    principal, site = found
    default = str(principal.settings.get("language") or settings.default_language)
    language = pick_language(request.args.get("lang"), None, default)
    config = page_config(principal, site, token, language)
    response = Response(render_template("kiosk.html", config=config, site=site, language=language))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in the address
    return response


@kiosk.get("/qr/<tracking>.svg")
def qr(tracking: str) -> ResponseReturnValue:
    """The tracking URL of a ticket as an SVG QR code (no JS library, works offline)."""
    from server.qr_svg import qr_svg

    if not TRACKING_TOKEN.fullmatch(tracking):
        abort(404)
    url = f"{luot().settings.base_url}/t/{tracking}"
    response = Response(qr_svg(url), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
