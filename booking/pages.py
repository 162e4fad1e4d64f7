"""The booking pages: the citizen's page (/book/<site>, also on a confirmation link), the QR poster, the staff
page. Vietnamese by default, English with ?lang=en (the same switch as the phone tracking page)."""

from __future__ import annotations

from typing import Any

from flask import Response, render_template, request, url_for
from flask.typing import ResponseReturnValue

from booking.routes import book, site_of
from server.api.catalogue import UnknownSite
from server.clock import local_date
from server.context import luot
from server.domain.errors import N_
from server.i18n import LANGUAGES, translate
from server.identity.oidc import oidc_config
from server.models import Site

#: The page's words, by key (English msgids; Vietnamese in server/translations/vi-booking.po).
PAGE_STRINGS: dict[str, str] = {
    "title": "Book an appointment",
    "choose_agency": "Choose an agency",
    "choose_service": "Choose a service",
    "choose_day": "Choose a day",
    "choose_slot": "Choose a time",
    "back": "Back",
    "book": "Book a time",
    "online": "Take a number for today",
    "online_closed": "Numbers for today are not given now",
    "today": "Today",
    "free": "{count} places left",
    "free_one": "1 place left",
    "closed_today": "No more times today",
    "full": "Full",
    "closed_day": "Not open on this day",
    "no_day": "No free time in the coming days.",
    "no_slot": "No free time on this day. Please choose another day.",
    "identify": "Who is booking?",
    "identify_online": "Who is taking the number?",
    "consent_title": "Your personal data",
    "consent_agree": "I agree",
    "phone": "Your mobile phone number",
    "send_code": "Send me a code",
    "code": "The code we sent you",
    "verify": "Confirm",
    "or": "or",
    "oidc": "Sign in with the national identity (VNeID)",
    "card": "ID card number (CCCD, optional: to check in by scanning your card)",
    "confirm_title": "Check and confirm",
    "confirm": "Confirm the booking",
    "confirmed": "Your booking is confirmed",
    "your_code": "Booking code",
    "show_at_kiosk": "At the centre, scan this code at the kiosk or type the booking code.",
    "keep_link": "Keep this page (bookmark it): it lets you change or cancel the booking.",
    "add_calendar": "Add to calendar",
    "reschedule": "Change the time",
    "cancel": "Cancel the booking",
    "cancel_confirm": "Cancel this booking? The place will be given to someone else.",
    "cancelled": "This booking is cancelled.",
    "lapsed": "This booking has lapsed: it was not checked in in time.",
    "checked_in": "This booking has been checked in.",
    "moved": "The time has been changed.",
    "when": "{date} at {time}",
    "slot_label": "Appointment time",
    "morning": "Morning",
    "afternoon": "Afternoon",
    "book_again": "Book another time",
    "service": "Service",
    "place": "Place",
    "come_early": "Please come 10 minutes early and check in at the kiosk.",
    "failed": "Something went wrong. Please try again.",
    "checking": "Checking whether your request went through…",
    "loading": "Loading…",
    "number_taken": "Your number for today",
    "weekday_0": "Monday",
    "weekday_1": "Tuesday",
    "weekday_2": "Wednesday",
    "weekday_3": "Thursday",
    "weekday_4": "Friday",
    "weekday_5": "Saturday",
    "weekday_6": "Sunday",
    "step": "Step {n} of {total}",
    "status_booked": "Booked",
    "status_checked_in": "Checked in",
    "status_cancelled": "Cancelled",
    "status_lapsed": "Lapsed",
    "channel_online": "Online",
    "channel_staff": "By staff",
    "move_here": "Move to the chosen time",
    "cancel_short": "Cancel",
    "consent_fallback": (
        "We use your phone number only to send you the code and the messages about this booking. It is deleted "
        "after your appointment day. Only a coded form of it is kept for 30 days to apply the limit of numbers "
        "per person (Law 91/2025 on personal data protection)."
    ),
}
POSTER_STRINGS = (
    "Book an appointment",
    "Scan with your phone's camera to book a time or take a number for today",
    "No need to queue at the kiosk",
)


def _language() -> str:
    requested = (request.args.get("lang") or "")[:2].lower()
    return requested if requested in LANGUAGES else luot().settings.default_language


def strings(language: str) -> dict[str, str]:
    return {key: translate(message, language) for key, message in PAGE_STRINGS.items()}


def _page(site: Site, secret: str = "") -> ResponseReturnValue:
    language = _language()
    config: dict[str, Any] = {
        "site": {"code": site.code, "name": site.name, "address": site.address},
        "language": language,
        "secret": secret,
        "base": f"/book/{site.code}",
        "urls": {
            "otp": f"/api/citizen/{site.code}/otp",
            "verify": f"/api/citizen/{site.code}/otp/verify",
            "consent": f"/api/citizen/{site.code}/consent",
            # the identity platform's sign-in only where one is set (else its link led to a JSON 404)
            "oidc": f"/citizen/{site.code}/oidc/login" if oidc_config(luot().settings, site.settings) else "",
            "track": "/t/",
        },
        "strings": strings(language),
    }
    response = Response(
        render_template("booking.html", config=config, site=site, lang=language, _=lambda m: translate(m, language))
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # a confirmation link carries its secret
    return response


MISSING_TITLE = N_("Page not found")
MISSING_TEXT = N_("No centre has this address. Please scan the QR code on the centre's poster again.")


def _site_page(site_code: str, secret: str = "") -> ResponseReturnValue:
    """The citizen's page of a site, or a page (not JSON) saying the address is wrong: a person reads it."""
    try:
        with luot().db.read() as db_session:
            site = site_of(db_session, site_code)
    except UnknownSite:
        language = _language()
        words = {"title": translate(MISSING_TITLE, language), "text": translate(MISSING_TEXT, language)}
        return render_template("booking_missing.html", lang=language, words=words), 404
    return _page(site, secret)


@book.get("/book/<site_code>")
def page(site_code: str) -> ResponseReturnValue:
    return _site_page(site_code)


@book.get("/book/<site_code>/m/<secret>")
def manage_page(site_code: str, secret: str) -> ResponseReturnValue:
    return _site_page(site_code, secret[:64])


@book.get("/book/<site_code>/poster")
def poster(site_code: str) -> ResponseReturnValue:
    """An A4 poster to print: the page's QR code and a few words, in Vietnamese (English below)."""
    from markupsafe import Markup

    from server.qr_svg import qr_svg

    with luot().db.read() as db_session:
        site = site_of(db_session, site_code)
    url = f"{luot().settings.base_url}/book/{site.code}"
    svg = Markup(qr_svg(url).decode().split("?>", 1)[-1])  # our own SVG, inline
    words = [(translate(m, "vi"), m) for m in POSTER_STRINGS]
    return render_template("booking_poster.html", site=site, url=url, svg=svg, words=words)


def staff_page_response(site_code: str, site_id: int) -> ResponseReturnValue:
    language = _language()
    with luot().db.read() as db_session:
        site = site_of(db_session, site_code)
    config = {
        "site": {"code": site.code, "name": site.name},
        "language": language,
        "base": f"/book/{site.code}",
        "strings": strings(language),
        "dashboard": url_for("dashboard.live"),
        "today": local_date(luot().clock.now()).isoformat(),  # the centre's day, not the staff PC's
    }
    return render_template(
        "booking_staff.html", config=config, site=site, lang=language, _=lambda m: translate(m, language)
    )
