"""Issue tickets, follow them by tracking token, return held ones, rate the service."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, Field
from sqlalchemy import bindparam
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from server.api import api
from server.api.catalogue import resolve_site
from server.api.support import InvalidBody, idempotency_key, parse_body, require
from server.auth import Forbidden
from server.clock import local_date
from server.context import luot
from server.domain import errors, queueing
from server.domain.cccd import parse_card_text  # InvalidCardText (400) is one of the API's error codes
from server.domain.day_close import effective_status
from server.domain.outlook import ticket_outlook
from server.domain.queries import site_rules, ticket_view
from server.domain.rating import within_window
from server.domain.readmodels import TicketView
from server.domain.vocabulary import AT_COUNTER, STAFF_ROLES, Channel, DeviceKind, Label, RatingSource, TicketStatus
from server.extensions import limiter, ticket_rate_limit
from server.models import Agency, Counter, CounterService, Rating, Service, Site, Ticket
from server.payloads import outlook_dict, public_ticket

log = logging.getLogger(__name__)


class IssueRequest(BaseModel):
    service: str | None = Field(default=None, max_length=32)
    priority: str | None = Field(default=None, max_length=16)
    appointment: str | None = Field(default=None, max_length=32)
    card: str | None = Field(default=None, max_length=400)  # the CCCD QR text, to find today's booking
    site: str | None = Field(default=None, max_length=32)


class RatingRequest(BaseModel):
    score: str = Field(min_length=1, max_length=32)
    comment: str = Field(default="", max_length=1000)
    reasons: list[str] = Field(default_factory=list, max_length=8)


_SERVING_COUNTERS = (
    select(Counter.number)
    .join(CounterService, col(CounterService.counter_id) == Counter.id)
    .where(CounterService.service_id == bindparam("service_id"))
    .order_by(col(Counter.number))
)
_NAMES = (  # eight columns: past sqlmodel.select's typed overloads, so SQLAlchemy's own
    core_select(
        col(Service.code),
        col(Service.name),
        col(Service.name_en),
        col(Agency.code),
        col(Agency.name),
        col(Agency.name_en),
        col(Site.code),
        col(Site.name),
    )
    .join(Agency, col(Agency.id) == Service.agency_id)
    .join(Site, col(Site.id) == Service.site_id)
    .where(col(Service.id) == bindparam("service_id"))
)


def serving_counters(db_session: Session, service_id: int) -> list[int]:
    return list(db_session.connection().execute(_SERVING_COUNTERS, {"service_id": service_id}).scalars())


def ticket_details(db_session: Session | None, ticket: Ticket | TicketView) -> dict[str, Any]:
    """Everything a kiosk needs to print and show a ticket: the names of its service, agency and site and the
    numbers of the counters serving it from the site's line in memory (its catalogue, rebuilt with the line when
    the catalogue changes: issue 13, no read on the issue path), else two prebuilt reads (`db_session`, or a read
    transaction of its own when None)."""
    known = _names_from_line(ticket.site_id, ticket.service_id)
    if known is None:
        if db_session is None:
            with luot().db.read() as own:
                return ticket_details(own, ticket)
        row = db_session.connection().execute(_NAMES, {"service_id": ticket.service_id}).one()
        known = (tuple(row), serving_counters(db_session, ticket.service_id))
    names, counters = known
    base_url = luot().settings.base_url
    return {
        "id": ticket.id,
        "number": ticket.number,
        "display_number": ticket.display_number,
        "priority": ticket.priority,
        "status": ticket.status,
        "issued_at": ticket.issued_at.isoformat(),
        "service": {"code": names[0], "name": names[1], "name_en": names[2]},
        "agency": {"code": names[3], "name": names[4], "name_en": names[5]},
        "site": {"code": names[6], "name": names[7]},
        "counters": counters,
        "tracking_token": ticket.tracking_token,
        "tracking_url": f"{base_url}/t/{ticket.tracking_token}",
    }


def _names_from_line(site_id: int, service_id: int) -> tuple[tuple[Any, ...], list[int]] | None:
    """(service code, name, name_en, agency code, name, name_en, site code, name) and the numbers of the counters
    serving the service, in order, from the line in memory; None when the line does not know the service."""
    lines = luot().lines
    try:
        catalogue = lines.catalogue(site_id)
        line = lines.site(site_id)
    except LookupError:
        return None
    service = next((s for s in catalogue.services if s.id == service_id), None)
    agency = next((a for a in catalogue.agencies if service and a["id"] == service.agency_id), None)
    if service is None or agency is None:
        return None
    site = catalogue.site
    names = (service.code, service.name, service.name_en, agency["code"], agency["name"], agency["name_en"])
    counters = sorted(c.number for c in line.counters.values() if service_id in c.service_ids)
    return (*names, site["code"], site["name"]), counters


def issue_site_id(db_session: Session, principal, body: IssueRequest) -> int:
    if principal.kind == "device":
        return principal.site_id
    if body.site:
        site = resolve_site(db_session, body.site)
        if not principal.may_see_site(site.id or 0):
            raise Forbidden()
        return site.id or 0
    if principal.site_id is None:
        raise InvalidBody(detail=Label("cán bộ cấp tỉnh cần chọn site", "site: required for province-level staff"))
    return principal.site_id


@api.post("/tickets")
@limiter.limit(ticket_rate_limit, methods=["POST"])
def issue() -> ResponseReturnValue:
    principal = require(staff_roles=STAFF_ROLES, devices=(DeviceKind.KIOSK,))
    body = parse_body(IssueRequest)
    key = idempotency_key()
    if not body.service and not body.appointment and not body.card:
        raise InvalidBody(detail=Label("cần service (hoặc appointment)", "service: required (or appointment)"))
    ctx = luot()
    with ctx.db.read() as db_session:
        site_id = issue_site_id(db_session, principal, body)
        if body.card:
            body.appointment = appointment_of_card(db_session, site_id, body.card)
    channel = Channel.KIOSK if principal.kind == "device" else Channel.STAFF
    outcome = ctx.run(
        queueing.issue_ticket,
        site_id=site_id,
        service_code=body.service,
        priority=body.priority or "",
        appointment_code=body.appointment,
        channel=channel,
        issuer_key=principal.issuer_key,
        idempotency_key=key,
    )
    payload = issued(outcome)
    for hook in ctx.after_issue:
        payload.update(hook(principal, payload) or {})
    return jsonify(payload), 201 if outcome.created else 200


def issued(outcome: queueing.Outcome) -> dict[str, Any]:
    """The answer to a number taken (kiosk, staff, online): the ticket's details and line figures, and whether it
    repeats one taken before with the same Idempotency-Key (`repeated`). Called after the commit, so it never
    raises for the figures: without them the answer says no wait (`outlook_dict(None)`) rather than report a
    ticket that exists as refused."""
    assert outcome.ticket is not None
    payload = ticket_details(None, outcome.ticket)
    try:
        payload.update(figures(outcome.ticket))
    except Exception:  # the number is committed: the citizen gets it even when its figures cannot be told
        log.exception("ticket %s was issued but its line figures failed", outcome.ticket.id)
        payload.update(status=outcome.ticket.status, now_serving=None, **outlook_dict(None))
    payload["repeated"] = not outcome.created
    return payload


def appointment_of_card(db_session: Session, site_id: int, text: str) -> str:
    """The code of today's booking made with the ID card whose QR text was scanned. Raises InvalidCardText (400)
    or UnknownAppointment (404)."""
    from flask import current_app

    from server.domain.booking import todays_code_for_card
    from server.identity.citizen import IdentityKind, person_key

    card = parse_card_text(text)
    key = person_key(current_app.config["SECRET_KEY"], IdentityKind.CCCD, card.id_number)
    code = todays_code_for_card(db_session, site_id, luot().clock.now(), key)
    if code is None:
        raise errors.UnknownAppointment()
    return code


def figures(ticket: TicketView) -> dict[str, Any]:
    """The line's figures of a ticket (`server.domain.outlook`): people ahead and wait while it waits, the number
    its service called last, its status as every reader must say it (a past day's open ticket is cancelled)."""
    ctx = luot()
    now = ctx.clock.now()
    status = effective_status(ticket.status, date.fromisoformat(ticket.service_date), local_date(now))
    if status == TicketStatus.CANCELLED:  # only the end of its day cancels a ticket (server.domain.day_close)
        return {"status": status, "cancel_reason": "day_closed", "now_serving": None, **outlook_dict(None)}
    line = ctx.lines.site(ticket.site_id, now)
    outlook = ticket_outlook(line, ticket.id, now) if status == TicketStatus.WAITING else None
    return {"status": status, "now_serving": line.last_called.get(ticket.service_id), **outlook_dict(outlook)}


@api.get("/tickets/<token>")
def track(token: str) -> ResponseReturnValue:
    """A ticket's public status by its tracking token (the phone page)."""
    ctx = luot()
    with ctx.db.read() as db_session:
        ticket = db_session.exec(select(Ticket).where(Ticket.tracking_token == token[:64])).first()
        if ticket is None:
            raise errors.UnknownTicket()
        view = ticket_view(db_session, ticket)
        details = ticket_details(db_session, view)
        counter = db_session.get(Counter, ticket.counter_id) if ticket.counter_id else None
        rated = db_session.exec(select(Rating.id).where(Rating.ticket_id == ticket.id)).first() is not None
        rules = site_rules(db_session, ticket.site_id)
        in_time = within_window(rules, ticket, RatingSource.PHONE, ctx.clock.now())
    keys = ("id", "display_number", "number", "priority", "issued_at", "service", "agency", "site", "counters")
    outlook = figures(view)
    at_counter = outlook["status"] in AT_COUNTER or outlook["status"] == TicketStatus.DONE
    return jsonify(
        {
            **{k: details[k] for k in keys},
            **outlook,
            "counter": {"number": counter.number, "name": counter.name} if counter and at_counter else None,
            "rated": rated,
            "can_rate": outlook["status"] == TicketStatus.DONE and not rated and in_time,
            "rating_scale": list(rules.rating_scale),
            "rating_reasons": list(rules.rating_reasons),
            "rating_reason_scores": list(rules.rating_reason_scores),
        }
    )


def luot_rating_scale(db_session: Session, site_id: int) -> list[str]:
    return list(site_rules(db_session, site_id).rating_scale)


@api.post("/tickets/<int:ticket_id>/return")
def return_held(ticket_id: int) -> ResponseReturnValue:
    principal = require(staff_roles=STAFF_ROLES)
    outcome = luot().run(queueing.return_ticket, ticket_id, principal.id)
    return jsonify({"ticket": _public(outcome)})


def _public(outcome: queueing.Outcome) -> dict[str, Any] | None:
    return public_ticket(outcome.ticket) if outcome.ticket else None


@api.post("/tickets/<ref>/rating")
def rate(ref: str) -> ResponseReturnValue:
    """Rate by ticket id (the rating tablet of the counter that served it) or by tracking token (the citizen's
    phone). Staff accounts are refused with 403 (`staff_cannot_rate`): only the citizen rates."""
    body = parse_body(RatingRequest)
    ctx = luot()
    tablet_counter: int | None = None
    with ctx.db.read() as db_session:
        if ref.isascii() and ref.isdigit():  # "²".isdigit() is True but int("²") fails
            principal = require(staff_roles=STAFF_ROLES, devices=(DeviceKind.RATING,))
            if principal.is_staff:
                raise errors.StaffCannotRate()
            ticket = db_session.get(Ticket, int(ref))
            if ticket is None or not principal.may_see_site(ticket.site_id):
                raise errors.UnknownTicket()
            source = RatingSource.TABLET
            tablet_counter = int(principal.settings.get("counter_id") or 0) or None
        else:
            ticket = db_session.exec(select(Ticket).where(Ticket.tracking_token == ref[:64])).first()
            if ticket is None:
                raise errors.UnknownTicket()
            source = RatingSource.PHONE
    outcome = ctx.run(queueing.rate, ticket.id, body.score, body.comment, source, body.reasons, tablet_counter)
    return jsonify({"ticket": _public(outcome), "score": body.score, "source": str(source)}), 201
