"""The counter surface: clerk sign-in, counter picker, console, and the citizen rating tablet.

Pages only render; every action goes through REST v1 (/api/v1/counters/…, cookie session + X-CSRFToken)
and live state comes over Socket.IO. Two small read endpoints live here because only this surface needs
them: the console's state (the counter with its lines, the current ticket's timing and the clerk's figures
for today) and the tablet's "finished a moment ago and not rated yet" ticket, for a tablet that reconnects.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from statistics import mean
from typing import Any

from flask import Blueprint, make_response, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from sqlmodel import Session, col, select

from server.api.counters import counter_state
from server.api.support import require
from server.auth import Forbidden, Principal, principal_for_token
from server.clock import local_date, local_midnight
from server.context import luot
from server.domain.errors import UnknownCounter
from server.domain.queries import site_rules
from server.domain.vocabulary import (
    PRIORITY_CLASSES,
    SCORE_LABELS,
    STAFF_ROLES,
    CounterEventKind,
    DeviceKind,
    EventKind,
    TicketStatus,
)
from server.errors_http import answers_json
from server.i18n import pick_language, translate
from server.models import (
    Agency,
    Counter,
    CounterEvent,
    CounterService,
    Rating,
    Service,
    Site,
    Ticket,
    TicketEvent,
    User,
)
from server.sessions import session_principal

log = logging.getLogger(__name__)

counter = Blueprint("counter", __name__, url_prefix="/counter", template_folder="templates", static_folder="static")

BUILD = Path(__file__).parent / "static" / "build"
# A tablet that (re)connects offers the rating of a ticket finished at its counter this recently.
RATING_WINDOW = timedelta(minutes=2)

# Strings the browser modules need, by key: English msgids, translated in server/translations/vi-counter.po.
PRIORITY_STRINGS = {f"priority_{p.code}": p.label.en for p in PRIORITY_CLASSES}
SCORE_STRINGS = {str(score): label.en for score, label in SCORE_LABELS.items()}
CONSOLE_STRINGS = {
    **PRIORITY_STRINGS,
    "online": "Connected",
    "connecting": "Connecting…",
    "offline": "Connection lost: reconnecting… The action buttons are locked until the connection is back.",
    "offline_short": "Offline",
    "network_error": "The action could not be sent: the connection to the server is lost. "
    "Nothing was changed; try again when the connection is back.",
    "refused": "The action was refused.",
    "status_called": "Called, waiting for the citizen",
    "status_serving": "Serving now",
    "no_current": "No citizen at the counter",
    "no_current_hint": "Press Call next (Space) to call the next citizen.",
    "waiting_empty": "Nobody is waiting.",
    "held_empty": "No tickets on hold.",
    "minutes": "{minutes} min",
    "under_a_minute": "under 1 min",
    "paused": "The counter is paused: {reason}",
    "paused_no_reason": "The counter is paused.",
    "pause": "Pause",
    "resume": "Resume",
    "recalls": "Called again {count} times",
    "recalls_last": "Called again {count} times: the next recall marks the citizen as not present",
    "recalled_last_msg": "Number {number} is called again. One more recall will mark it as not present.",
    "absent_msg": "Marked as not present: number {number} did not come after {count} calls.",
    "duration_seconds": "{seconds} s",
    "duration_minutes": "{minutes} min {seconds} s",
    "duration_hours": "{hours} h {minutes} min",
    "taken_over": "Another clerk has taken over this counter: you no longer hold it.",
    "called_msg": "Number {number} is called.",
    "recalled_msg": "Number {number} is called again.",
    "started_msg": "Serving number {number}.",
    "finished_msg": "Number {number} is finished.",
    "finished_nobody_msg": "Number {number} is finished. Nobody else is waiting.",
    "no_show_msg": "Number {number} is marked as not present.",
    "transferred_msg": "Number {number} is transferred to {service}.",
    "held_msg": "Number {number} is on hold.",
    "returned_msg": "Number {number} is waiting again.",
    "paused_msg": "The counter is paused.",
    "resumed_msg": "The counter is open again.",
    "closed_now": "closed now",
    "credentials_missing": "Enter your username and password.",
    "return_button": "Return to the line",
    "timer_called": "Since the call",
    "timer_serving": "Service time",
    "reason_appointment": "Appointment",
    "reason_waited": "Waited 30+ min",
    "reason_transfer": "Transferred",
}
RATING_STRINGS = {
    **SCORE_STRINGS,
    "thanks": "Thank you for your rating!",
    "already_rated": "This number has already been rated. Thank you!",
    "send_failed": "Your rating could not be sent. Please try again.",
    "offline": "Connection lost",
    "number": "Number {number}",
    "counter": "Counter {number}",
    "send": "Send",
}


def _language() -> str:
    return pick_language(request.args.get("lang"), None, luot().settings.default_language)


def _strings(messages: dict[str, str]) -> dict[str, str]:
    language = _language()
    return {key: translate(message, language) for key, message in messages.items()}


def _lang_arg() -> dict[str, Any]:
    """Keeps an explicit ?lang= across the surface's redirects."""
    wanted = request.args.get("lang")
    return {"lang": wanted} if wanted else {}


def _bundle(name: str) -> str:
    """The built JS module's URL, versioned by its build time so a rebuilt bundle is never served stale."""
    path = BUILD / f"{name}.js"
    version = int(path.stat().st_mtime) if path.exists() else 0
    return url_for("counter.static", filename=f"build/{name}.js", v=version)


def _signed_in_staff() -> Principal | None:
    """The staff member of the session cookie (pages never take Bearer tokens)."""
    if not session.get("user_id"):
        return None
    principal = session_principal(luot())
    return principal if principal is not None and principal.is_staff and principal.role in STAFF_ROLES else None


def _no_store(response: Any) -> Any:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _page(template: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    context.setdefault("stylesheet", "counter.css")
    return _no_store(make_response(render_template(template, **context), status))


# ------------------------------------------------------------------ clerk pages


@counter.get("/login")
def login_page() -> ResponseReturnValue:
    if _signed_in_staff() is not None:
        return redirect(url_for("counter.home", **_lang_arg()))
    return _page("counter_login.html", strings=_strings(CONSOLE_STRINGS), bundle=_bundle("console"))


@counter.get("/")
def home() -> ResponseReturnValue:
    """The counter picker; a clerk who already holds a counter goes straight to its console."""
    principal = _signed_in_staff()
    if principal is None:
        return redirect(url_for("counter.login_page", **_lang_arg()))
    with luot().db.read() as db_session:
        held = db_session.exec(select(Counter).where(Counter.clerk_id == principal.id)).first()
        if held is not None:
            return redirect(url_for("counter.console", counter_id=held.id, **_lang_arg()))
        sites = picker_sites(db_session, principal)
    return _page(
        "counter_picker.html",
        principal=principal,
        sites=sites,
        strings=_strings(CONSOLE_STRINGS),
        bundle=_bundle("console"),
    )


def picker_sites(db_session: Session, principal: Principal) -> list[dict[str, Any]]:
    """The counters a staff member may take, by site and, within a site, by agency (and floor when the site's
    counters are on several floors), with who holds each and the clerk's usual counter.

    Shape: [{id, name, usual: counter | None, groups: [{agency, floor, counters: [counter…]}]}], a counter being
    {id, number, name, floor, status, holder, services: [names], usual: bool, allowed: bool (the site's
    counter_clerks let this clerk open it)}.
    """
    site_query = select(Site).order_by(col(Site.id))
    if principal.site_id is not None:
        site_query = site_query.where(Site.id == principal.site_id)
    usual_id = usual_counter_id(db_session, principal.id)
    user = db_session.get(User, principal.id)
    result = []
    for site in db_session.exec(site_query).all():
        rules = site_rules(db_session, site.id or 0)
        rows = _site_counters(db_session, site.id or 0, usual_id)
        for _key, row in rows:
            row["allowed"] = user is not None and rules.may_open(row["number"], user.username, user.role)
            row["usual"] = row["usual"] and row["allowed"]
        result.append(
            {
                "id": site.id,
                "name": site.name,
                "counters": [row for _key, row in rows],
                "groups": _groups(rows),
                "usual": next((row for _key, row in rows if row["usual"]), None),
            }
        )
    return result


def usual_counter_id(db_session: Session, user_id: int) -> int | None:
    """The counter this clerk opened most recently (their usual desk), from the counter log."""
    return db_session.exec(
        select(CounterEvent.counter_id)
        .where(CounterEvent.user_id == user_id, CounterEvent.kind == CounterEventKind.OPENED)
        .order_by(col(CounterEvent.id).desc())
        .limit(1)
    ).first()


def _site_counters(db_session: Session, site_id: int, usual_id: int | None) -> list[tuple[tuple, dict[str, Any]]]:
    """Each counter of a site as a picker row, with its group key (floor, agency order, agency name)."""
    desks = db_session.exec(select(Counter).where(Counter.site_id == site_id).order_by(col(Counter.number))).all()
    services = {s.id: s for s in db_session.exec(select(Service).where(Service.site_id == site_id)).all()}
    agencies = {a.id: a for a in db_session.exec(select(Agency).where(Agency.site_id == site_id)).all()}
    ids = [d.id for d in desks]
    links = db_session.exec(select(CounterService).where(col(CounterService.counter_id).in_(ids))).all() if ids else []
    holders = {
        u.id: u
        for u in db_session.exec(select(User).where(col(User.id).in_([d.clerk_id for d in desks if d.clerk_id]))).all()
    }
    floors = {desk.floor for desk in desks}
    rows = []
    for desk in desks:
        holder = holders.get(desk.clerk_id) if desk.clerk_id else None
        served = sorted(
            (services[link.service_id] for link in links if link.counter_id == desk.id and link.service_id in services),
            key=lambda service: (service.sort_order, service.id or 0),
        )
        agency = agencies.get(served[0].agency_id) if served else None
        floor = desk.floor if len(floors) > 1 else ""
        key = (floor, agency.sort_order if agency else 10**6, agency.id if agency else 0)
        rows.append(
            (
                key,
                {
                    "id": desk.id,
                    "number": desk.number,
                    "name": desk.name,
                    "floor": desk.floor,
                    "status": desk.status,
                    "holder": (holder.full_name or holder.username) if holder else "",
                    "services": [service.name for service in served],
                    "agency": agency.name if agency else "",
                    "usual": desk.id == usual_id,
                },
            )
        )
    return rows


def _groups(rows: list[tuple[tuple, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Counters grouped by (floor, agency), in the site's agency order, each group by counter number."""
    groups: dict[tuple, dict[str, Any]] = {}
    for key, row in sorted(rows, key=lambda item: (item[0], item[1]["number"])):
        group = groups.setdefault(key, {"agency": row["agency"], "floor": key[0], "counters": []})
        group["counters"].append(row)
    return list(groups.values())


@counter.get("/<int:counter_id>")
def console(counter_id: int) -> ResponseReturnValue:
    principal = _signed_in_staff()
    if principal is None:
        return redirect(url_for("counter.login_page", **_lang_arg()))
    with luot().db.read() as db_session:
        desk = db_session.get(Counter, counter_id)
        if desk is None or desk.clerk_id != principal.id:
            return redirect(url_for("counter.home", **_lang_arg()))
        services = db_session.exec(
            select(Service.name)
            .join(CounterService, col(CounterService.service_id) == Service.id)
            .where(CounterService.counter_id == counter_id)
            .order_by(col(Service.sort_order), col(Service.id))
        ).all()
    return _page(
        "counter_console.html",
        principal=principal,
        desk=desk,
        services=list(services),
        strings=_strings(CONSOLE_STRINGS),
        bundle=_bundle("console"),
    )


@counter.get("/<int:counter_id>/state")
@answers_json
def console_state(counter_id: int) -> ResponseReturnValue:
    """What the console draws after (re)connecting: the counter, its lines, timing and today's figures."""
    principal = require(staff_roles=STAFF_ROLES)
    ctx = luot()
    now = ctx.clock.now()
    with ctx.db.read() as db_session:
        desk = db_session.get(Counter, counter_id)
        if desk is None:
            raise UnknownCounter()
        if not principal.may_see_site(desk.site_id):
            raise Forbidden()
        current = db_session.get(Ticket, desk.current_ticket_id) if desk.current_ticket_id else None
        timing = {"called_at": _iso(current.called_at), "started_at": _iso(current.started_at)} if current else None
        figures = clerk_figures(db_session, principal.id, now)
        mine = desk.clerk_id == principal.id
    return {
        "now": now.isoformat(),
        "mine": mine,
        "counter": counter_state(counter_id),
        "timing": timing,
        "figures": figures,
    }


def _iso(instant: datetime | None) -> str | None:
    return instant.isoformat() if instant else None


def clerk_figures(db_session: Session, user_id: int, now: datetime) -> dict[str, Any]:
    """The clerk's own day from the ticket event log: served, average service time (finish − start), no-shows."""
    since = local_midnight(local_date(now))
    entries = db_session.exec(
        select(TicketEvent)
        .where(
            TicketEvent.user_id == user_id,
            TicketEvent.at >= since,
            col(TicketEvent.kind).in_([EventKind.CALLED, EventKind.FINISHED, EventKind.NO_SHOW, EventKind.TRANSFERRED]),
        )
        .order_by(col(TicketEvent.id))
    ).all()
    finished = [e for e in entries if e.kind == EventKind.FINISHED]
    starts: dict[int, list[datetime]] = {}
    if finished:
        for ticket_id, at in db_session.exec(
            select(TicketEvent.ticket_id, TicketEvent.at)
            .where(
                col(TicketEvent.ticket_id).in_([e.ticket_id for e in finished]), TicketEvent.kind == EventKind.STARTED
            )
            .order_by(col(TicketEvent.id))
        ).all():
            starts.setdefault(ticket_id, []).append(at)
    durations = []
    for entry in finished:
        before = [at for at in starts.get(entry.ticket_id, []) if at <= entry.at]
        if before:
            durations.append((entry.at - before[-1]).total_seconds())
    return {
        "called": sum(1 for e in entries if e.kind == EventKind.CALLED),
        "served": len(finished),
        "no_show": sum(1 for e in entries if e.kind == EventKind.NO_SHOW),
        "transferred": sum(1 for e in entries if e.kind == EventKind.TRANSFERRED),
        "average_service_seconds": round(mean(durations)) if durations else None,
    }


# ------------------------------------------------------------------ rating tablet


def _rating_device(token: str) -> Principal | None:
    if not token:
        return None
    ctx = luot()
    with ctx.db.read() as db_session:
        principal = principal_for_token(db_session, ctx.clock.now(), token)
    if principal is None or principal.kind != "device" or principal.device_kind != DeviceKind.RATING:
        return None
    return principal


@counter.get("/rating")
def rating_page() -> ResponseReturnValue:
    """The tablet facing the citizen: opened once with ?token=<rating device token>."""
    device = _rating_device(request.args.get("token", ""))
    if device is None:
        return _page(
            "counter_rating_error.html",
            403,
            message=translate("This page needs the token of a registered rating tablet.", _language()),
        )
    with luot().db.read() as db_session:
        desk = db_session.get(Counter, device.settings.get("counter_id") or 0)
    if desk is None or desk.site_id != device.site_id:
        return _page(
            "counter_rating_error.html",
            409,
            message=translate("This rating tablet is not paired with a counter.", _language()),
        )
    return _page(
        "counter_rating.html",
        stylesheet="rating.css",
        csrf=False,
        desk=desk,
        token=request.args.get("token", ""),
        strings=_strings(RATING_STRINGS),
        bundle=_bundle("rating"),
    )


@counter.get("/rating/pending")
@answers_json
def rating_pending() -> ResponseReturnValue:
    """The ticket finished at the tablet's counter in the last moments and not rated yet, if any."""
    device = require(devices=(DeviceKind.RATING,))
    ctx = luot()
    now = ctx.clock.now()
    counter_id = device.settings.get("counter_id")
    with ctx.db.read() as db_session:
        ticket = db_session.exec(
            select(Ticket)
            .where(
                Ticket.counter_id == counter_id,
                Ticket.status == TicketStatus.DONE,
                Ticket.site_id == device.site_id,
                col(Ticket.finished_at) >= now - RATING_WINDOW,
            )
            .order_by(col(Ticket.finished_at).desc())
        ).first()
        if ticket is not None and db_session.exec(select(Rating.id).where(Rating.ticket_id == ticket.id)).first():
            ticket = None
        agency = db_session.get(Agency, ticket.agency_id) if ticket else None
    return {
        "ticket": {
            "id": ticket.id,
            "display_number": ticket.display_number,
            "counter_id": ticket.counter_id,
            "agency": agency.name if agency else "",
        }
        if ticket
        else None
    }
