"""The hall board (/display/), the counter-top display (/display/counter), call audio and the phone page (/t/…).

Boards and counter displays are registered devices: their page is opened with `?token=<device token>`, and
their settings JSON shapes the page (board: agency_ids, rows, orientation, language, notice). The phone
page needs no login: the tracking token printed in the ticket's QR code is the only key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, make_response, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_limiter import RequestLimit
from sqlmodel import Session, col, select

from server.auth import Principal, principal_for_token
from server.context import luot
from server.domain.errors import DomainError
from server.domain.queries import site_rules
from server.domain.vocabulary import SCORE_LABELS, DeviceKind
from server.errors_http import RATE_LIMITED_FOR, error_response, limit_wait
from server.extensions import client_address, limiter, never_raises
from server.i18n import LANGUAGES, translate
from server.messaging.watch_form import CONSENT, ask_to_be_told, offer
from server.models import Agency, Counter, CounterService, Service, Site, Ticket
from server.voice.calls import AudioUnavailable, UnknownCall

log = logging.getLogger(__name__)

display = Blueprint(
    "display", __name__, template_folder="templates", static_folder="static", static_url_path="/display/static"
)

MAX_ROWS = 12  # the snapshot carries today's 12 latest calls
ORIENTATIONS = ("auto", "landscape", "portrait")  # auto: from the screen's aspect (taller than wide: portrait)
LAYOUTS = ("calls", "counters")  # the latest calls listed, or a grid of the counters with their numbers
PAGE_SECONDS = 8  # a panel with more lines than fit shows them page by page, turning this often
NEAR_PLACES = 3  # the phone alerts when this many people (or fewer) are ahead

# Strings the browser modules need, by key; English msgids translated in server/translations/vi-display.po.
BOARD_STRINGS = {
    "call_line": "Citizen number {number}, please come to counter {counter}",
    "number": "Number",
    "counter": "Counter",
    "recall": "Recall",
    "no_calls": "No calls yet today",
    "waiting": "Waiting",
    "paused": "Counter paused",
    "offline": "Connection lost",
}
COUNTER_STRINGS = {
    "now_serving": "Now serving",
    "counter": "Counter {number}",
    "idle": "Please wait for the next number",
    "paused": "This counter is paused",
    "closed": "This counter is closed",
    "offline": "Connection lost",
    "recall": "Recall",
}
TRACK_STRINGS = {
    "status_waiting": "Waiting",
    "status_called": "It is your turn!",
    "status_serving": "Being served",
    "status_done": "Finished",
    "status_no_show": "Missed: you did not come when called",
    "status_held": "On hold: come back to the counter when you are ready",
    "status_cancelled": "Cancelled",
    "go_to_counter": "Please go to counter {counter}",
    "served_at": "At counter {counter}",
    "near": "Your turn is near: please come back to the hall.",
    "ahead_none": "You are next",
    "no_counter": "No counter is open for this service yet",
    "no_counter_until": "No counter is open yet — expected to open at {time}",
    "minutes": "about {minutes} min",
    "no_show_hint": "Please take a new number at the kiosk.",
    "rate_prompt": "How satisfied are you with the service?",
    "rate_thanks": "Thank you for your rating.",
    "rate_failed": "Your rating could not be sent; please try again.",
    **{str(score): label.en for score, label in SCORE_LABELS.items()},
    "offline": "Connection lost",
    "alerts_on": "Alerts are on",
    "come_back": "Please be back in the hall by about {time}",
}
COME_BACK_MARGIN = 5  # minutes: an online number is asked back this long before its expected call


# ------------------------------------------------------------------ helpers


def _translator(language: str) -> Callable[..., str]:
    def _(message: str, **params: object) -> str:
        return translate(message, language, **params)

    return _


def _strings(table: dict[str, str], language: str) -> dict[str, str]:
    return {key: translate(message, language) for key, message in table.items()}


def _language(device_settings: dict[str, Any] | None = None) -> str:
    """?lang= wins, then the device's own language, then the server default."""
    for candidate in (request.args.get("lang"), (device_settings or {}).get("language")):
        if isinstance(candidate, str) and candidate[:2].lower() in LANGUAGES:
            return candidate[:2].lower()
    return luot().settings.default_language


def _error_page(status: int, title: str, message: str, language: str | None = None) -> ResponseReturnValue:
    language = language or _language()
    return render_template(
        "display_error.html", title=title, message=message, status=status, lang=language, _=_translator(language)
    ), status


def _device(kind: str, what: str) -> tuple[Principal | None, str, ResponseReturnValue | None]:
    """The registered, unrevoked device of `kind` named by ?token=, or an error page (401/403)."""
    token = request.args.get("token", "").strip()
    principal = None
    if token:
        ctx = luot()
        with ctx.db.read() as db_session:
            principal = principal_for_token(db_session, ctx.clock.now(), token)
    if principal is None or principal.kind != "device":
        return (
            None,
            token,
            _error_page(
                401,
                "This screen is not registered",
                "The device token in this address is missing, unknown or revoked. "
                "Ask the administrator for the screen's address.",
            ),
        )
    if principal.device_kind != kind:
        return None, token, _error_page(403, "Wrong kind of device", what, _language(principal.settings))
    return principal, token, None


def _int_list(raw: Any) -> list[int] | None:
    if not isinstance(raw, list | tuple):
        return None
    values = [int(v) for v in raw if isinstance(v, int | str) and str(v).isdigit()]
    return values or None


def _int_in(raw: Any, low: int, high: int, default: int) -> int:
    try:
        return min(high, max(low, int(raw)))
    except (TypeError, ValueError):
        return default


def _choice(raw: Any, allowed: tuple[str, ...]) -> str:
    return str(raw) if raw in allowed else allowed[0]


def board_layout(settings: dict[str, Any]) -> dict[str, Any]:
    """A board's options from its device settings, with safe defaults for anything missing or odd.

    `orientation` auto (default) follows the screen's aspect; `layout` calls (default) or counters; `rows` is the
    most earlier calls listed (the board lists fewer when they do not fit its screen).
    """
    return {
        "agency_ids": _int_list(settings.get("agency_ids")),
        "orientation": _choice(settings.get("orientation"), ORIENTATIONS),
        "layout": _choice(settings.get("layout"), LAYOUTS),
        "rows": _int_in(settings.get("rows"), 1, MAX_ROWS, MAX_ROWS),
        "page_seconds": _int_in(settings.get("page_seconds"), 3, 120, PAGE_SECONDS),
        "notice": str(settings.get("notice") or ""),
        "title": str(settings.get("title") or ""),
    }


# ------------------------------------------------------------------ pages


@display.get("/display/")
def board() -> ResponseReturnValue:
    principal, token, error = _device(DeviceKind.BOARD, "This address is for hall boards; this device is not one.")
    if error is not None:
        return error
    assert principal is not None and principal.site_id is not None
    language = _language(principal.settings)
    layout = board_layout(principal.settings)
    with luot().db.read() as db_session:
        site = db_session.get(Site, principal.site_id)
        notice = layout["notice"] or str(site_rules(db_session, principal.site_id).extra.get("board_notice", ""))
    _ = _translator(language)
    config = {
        "token": token,
        "device_id": principal.id,
        "site_id": principal.site_id,
        "language": language,
        **layout,
        "notice": notice
        or _("Please watch the screen and listen for your number. A missed number must be taken again at the kiosk."),
        "strings": _strings(BOARD_STRINGS, language),
    }
    return render_template(
        "display_board.html",
        page_config=config,
        layout=layout,
        lang=language,
        _=_,
        site_name=site.name if site else "",
        device_name=principal.name,
    )


@display.get("/display/counter")
def counter_display() -> ResponseReturnValue:
    principal, token, error = _device(
        DeviceKind.COUNTER_DISPLAY, "This address is for counter displays; this device is not one."
    )
    if error is not None:
        return error
    assert principal is not None
    language = _language(principal.settings)
    counter_id = _int_in(principal.settings.get("counter_id"), 0, 2**62, 0)
    with luot().db.read() as db_session:
        counter = db_session.get(Counter, counter_id) if counter_id else None
        agencies = counter_agencies(db_session, counter_id) if counter is not None else []
    if counter is None or counter.site_id != principal.site_id:
        return _error_page(
            409,
            "No counter for this display",
            "Set the counter this display belongs to (counter_id in the device settings).",
            language,
        )
    names = [agency.name_en if language == "en" and agency.name_en else agency.name for agency in agencies]
    config = {
        "token": token,
        "counter_id": counter.id,
        "language": language,
        "strings": _strings(COUNTER_STRINGS, language),
    }
    return render_template(
        "display_counter.html",
        page_config=config,
        counter=counter,
        agencies=names,
        lang=language,
        _=_translator(language),
    )


def counter_agencies(db_session: Session, counter_id: int) -> list[Agency]:
    """The agencies whose services a counter serves, in the site's order."""
    return list(
        db_session.exec(
            select(Agency)
            .join(Service, col(Service.agency_id) == Agency.id)
            .join(CounterService, col(CounterService.service_id) == Service.id)
            .where(CounterService.counter_id == counter_id)
            .distinct()
            .order_by(col(Agency.sort_order), col(Agency.id))
        ).all()
    )


@display.get("/t/<tracking_token>")
def track(tracking_token: str) -> ResponseReturnValue:
    return _track_page(tracking_token, _language())


def _track_page(tracking_token: str, language: str, notify_error: str = "", status: int = 200) -> ResponseReturnValue:
    with luot().db.read() as db_session:
        ticket = db_session.exec(select(Ticket).where(Ticket.tracking_token == tracking_token[:64])).first()
        service = db_session.get(Service, ticket.service_id) if ticket else None
        agency = db_session.get(Agency, ticket.agency_id) if ticket else None
        site = db_session.get(Site, ticket.site_id) if ticket else None
        near = site_rules(db_session, ticket.site_id).extra.get("tracking_near_places") if ticket else None
    if ticket is None:
        return _error_page(
            404,
            "Ticket not found",
            "This link does not match any ticket. Check the QR code printed on your ticket.",
            language,
        )
    config = {
        "tracking_token": tracking_token,
        "ticket_id": ticket.id,
        "language": language,
        "near_places": _int_in(near, 1, 50, NEAR_PLACES),
        "channel": ticket.channel,
        "come_back_margin": COME_BACK_MARGIN,
        "server_now": luot().clock.now().isoformat(),  # the page tells times by the server's clock
        "strings": _strings(TRACK_STRINGS, language),
    }
    return render_template(
        "display_track.html",
        page_config=config,
        ticket=ticket,
        service=service,
        agency=agency,
        site=site,
        lang=language,
        notify=offer(site, ticket),
        notify_error=notify_error,
        notify_done=request.args.get("told") == "1",
        consent=CONSENT,
        _=_translator(language),
    ), status


_client_key = never_raises(client_address)


@never_raises
def _watched_ticket() -> str:
    return "watch-ticket:" + str((request.view_args or {}).get("tracking_token", ""))[:64]


def _watch_saved(response: Response) -> bool:
    """Only a watch saved counts (the form's redirect): a refusal (no consent, a bad number) changes nothing."""
    return response.status_code == 302


def _watch_limited(breached: RequestLimit) -> Response:
    """The tracking page again, its form saying how long to wait (a browser form gets a page, never JSON)."""
    language = _language()
    message = translate(RATE_LIMITED_FOR, language, wait=limit_wait(breached))
    token = str((request.view_args or {}).get("tracking_token", ""))
    return make_response(_track_page(token, language, message, 429))


def _settings_limit(name: str) -> Callable[[], str]:
    return lambda: str(getattr(luot().settings, name))


@display.post("/t/<tracking_token>/notify")
@limiter.limit(
    _settings_limit("watch_address_limit"), key_func=_client_key, deduct_when=_watch_saved, on_breach=_watch_limited
)
@limiter.limit(
    _settings_limit("watch_ticket_limit"), key_func=_watched_ticket, deduct_when=_watch_saved, on_breach=_watch_limited
)
def notify(tracking_token: str) -> ResponseReturnValue:
    """The tracking page's form: be told by message when 3 are ahead and/or when called (server/messaging)."""
    language = _language()
    try:
        ask_to_be_told(luot(), tracking_token, request.form, language)
    except DomainError as exc:
        return _track_page(tracking_token, language, translate(exc.text, language, **exc.params), exc.status)
    return redirect(url_for("display.track", tracking_token=tracking_token, lang=language, told=1) + "#notify")


@display.get("/display/audio/<call_id>.wav")
def call_audio(call_id: str) -> ResponseReturnValue:
    try:
        path = luot().announcer.call_audio(call_id)
    except (UnknownCall, AudioUnavailable) as exc:
        return error_response(exc.code, exc.text, exc.status)
    # A call's audio never changes (a recall has its own call id), so the board may keep it.
    return send_file(path, mimetype="audio/wav", max_age=3600, conditional=True)
