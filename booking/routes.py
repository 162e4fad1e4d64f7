"""The citizen's booking page and its JSON endpoints (issue 18), public and phone-sized.

GET  /book/<site>                          the page: agency → service → day → slot → identify → confirmation
GET  /book/<site>/m/<secret>               the same page on a booking (the confirmation link: cancel, move)
GET  /book/<site>/poster                   a printable A4 poster with the page's QR code
GET  /book/<site>/catalogue                services that take bookings or online numbers
GET  /book/<site>/days?service=            today and the days ahead with their free seats
GET  /book/<site>/slots?service=&date=     the day's slots with their remaining seats
POST /book/<site>/bookings                 {service, slot, contact?, card?} → 201 {booking, link}; an identified
                                           citizen (server/identity/session.py) or staff of the site
POST /book/<site>/online                   {service} → 201 today's online number (identified citizen)
GET  /book/<site>/b/<secret>               the booking of a confirmation link
POST /book/<site>/b/<secret>/cancel        cancel it
POST /book/<site>/b/<secret>/move          {slot} move it (at most MAX_LINK_MOVES times)
GET  /book/<site>/b/<secret>/booking.ics   add to calendar
GET  /book/<site>/b/<secret>/qr.svg        the QR code the kiosk scans (the booking code)

The secret in the confirmation link is the only key to a booking (like the tracking token of a ticket); the
database keeps its SHA-256. No personal data is ever shown: the page knows the booking by code and time.

Every POST takes an Idempotency-Key (at most 128 characters): the page sends one per tap sequence and keeps it
when the answer was lost (no answer, a 5xx, 503 `storage_unconfirmed`), so tapping again gets the number or the
booking the first tap made (200, the same ticket or the same link) instead of a refusal of a second one; the same
key with another body is 409 `idempotency_conflict`. A booking's link secret is then derived from the key
(HMAC under the instance secret), so that a repeat can give the link again without the database keeping it.

A citizen's booking texts only the phone they proved (`contact` another: 400 `contact_not_verified`), and its
link moves it at most MAX_LINK_MOVES times (409 `too_many_moves`): see booking/notify.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, Field
from sqlmodel import Session, func, select

from booking import staff as staff_rules
from booking.ics import booking_ics
from booking.notify import book_and_tell, change_and_tell
from booking.views import booking_json, catalogue, days, slots
from server.api.catalogue import UnknownSite, resolve_site
from server.api.support import InvalidBody, idempotency_key, parse_body
from server.auth import Principal
from server.calendar_bounds import parse_day, within_calendar
from server.context import luot
from server.domain import booking as use
from server.domain import booking_errors as refused
from server.domain.booking_rules import AppointmentStatus
from server.domain.issuing import service_by_code
from server.domain.online import take_online_number
from server.domain.vocabulary import Label
from server.errors_http import answers_json
from server.identity.citizen import Citizen, IdentityKind, person_key
from server.identity.session import current_citizen
from server.messaging.addresses import parse_address
from server.models import Appointment, Site

book = Blueprint(
    "booking", __name__, template_folder="templates", static_folder="static", static_url_path="/book/static"
)


class BookRequest(BaseModel):
    service: str = Field(min_length=1, max_length=32)
    slot: datetime
    contact: str | None = Field(default=None, max_length=200)
    card: str | None = Field(default=None, max_length=20)  # the CCCD number, to check in with the ID card
    language: str = Field(default="vi", max_length=2)


class OnlineRequest(BaseModel):
    service: str = Field(min_length=1, max_length=32)


class MoveRequest(BaseModel):
    slot: datetime


def site_of(db_session: Session, code: str) -> Site:
    """The site of a booking address; its code in any case ("/book/tthcc", typed from a poster, is TTHCC).
    Raises UnknownSite (404)."""
    code = code[:32] or "-"
    try:
        return resolve_site(db_session, code)
    except UnknownSite:
        same = db_session.exec(select(Site).where(func.upper(Site.code) == code.upper())).all()
        if len(same) != 1:
            raise
        return same[0]


def _aware(slot: datetime) -> datetime:
    """A slot's instant: with its offset, on a day of the calendar (server.calendar_bounds). Raises InvalidBody
    or DateOutOfRange."""
    if slot.tzinfo is None:
        raise InvalidBody(
            detail=Label(
                "slot: thời điểm ISO kèm múi giờ (ví dụ 2026-11-18T09:00:00+07:00)",
                "slot: an ISO instant with its offset (e.g. 2026-11-18T09:00:00+07:00)",
            )
        )
    within_calendar(slot.date())  # before any arithmetic: year 9999 or 1 has no next or previous day
    return slot


def card_key(card: str | None) -> str | None:
    """The person key of a 12-digit CCCD number (None without one). Raises InvalidBody (400) otherwise."""
    if not card:
        return None
    digits = "".join(ch for ch in card if ch in "0123456789")  # str.isdigit() also takes "²", "٣", …
    if len(digits) != 12:
        raise InvalidBody(
            detail=Label("card: 12 chữ số của căn cước công dân (CCCD)", "card: the 12 digits of the ID card (CCCD)")
        )
    return person_key(current_app.config["SECRET_KEY"], IdentityKind.CCCD, digits)


def link_secret(request_key: str) -> str:
    """The link secret of a booking made with an Idempotency-Key (`request_key`, its `key_hash`): 32 characters
    like a random one, which nobody can work out without the instance secret, and the same for a repeat."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    mac = hmac.new(secret, b"booking-link\x00" + request_key.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:24]).decode()


def verified_contact(given: str | None, citizen: Citizen | None, staff: Principal | None) -> str | None:
    """Where a booking's messages go. Staff: the contact they typed (the caller's). A citizen: the phone they proved
    (the one-time code, or the identity platform's), and nothing else: a contact given that is not it is refused,
    so that nobody books to have a stranger's phone texted. Raises BadAddress (400) for a contact that is no phone
    or e-mail, ContactNotVerified (400) for one that is not the citizen's proved phone."""
    if staff is not None or citizen is None:
        return given
    if not given or not given.strip():
        return citizen.phone
    if citizen.phone is None or parse_address(given).value != parse_address(citizen.phone).value:
        raise refused.ContactNotVerified()
    return given


def link_of(site_code: str, secret: str) -> str:
    return f"{luot().settings.base_url}/book/{site_code}/m/{secret}"


@book.get("/book/<site_code>/catalogue")
@answers_json
def catalogue_json(site_code: str) -> ResponseReturnValue:
    ctx = luot()
    with ctx.db.read() as db_session:
        site = site_of(db_session, site_code)
        agencies = catalogue(db_session, site, ctx.clock.now())
    citizen = current_citizen()
    return jsonify(
        {
            "site": {"code": site.code, "name": site.name, "address": site.address},
            "agencies": agencies,
            "identified": citizen is not None,
            "citizen": {"kind": citizen.kind.value, "name": citizen.name} if citizen else None,
        }
    )


def _service(db_session: Session, site: Site) -> Any:
    code = request.args.get("service", "")[:32]
    service = service_by_code(db_session, site.id or 0, code)
    if not service.bookable:
        raise refused.NotBookable()
    return service


@book.get("/book/<site_code>/days")
@answers_json
def days_json(site_code: str) -> ResponseReturnValue:
    ctx = luot()
    with ctx.db.read() as db_session:
        service = _service(db_session, site_of(db_session, site_code))
        return jsonify({"days": days(db_session, service, ctx.clock.now())})


@book.get("/book/<site_code>/slots")
@answers_json
def slots_json(site_code: str) -> ResponseReturnValue:
    ctx = luot()
    day = parse_day(request.args.get("date", "")[:10])  # beyond 2000–2100: DateOutOfRange
    if day is None:
        raise InvalidBody(detail=Label("date: ngày dạng YYYY-MM-DD", "date: YYYY-MM-DD"))
    with ctx.db.read() as db_session:
        service = _service(db_session, site_of(db_session, site_code))
        return jsonify({"date": day.isoformat(), "slots": slots(db_session, service, day, ctx.clock.now())})


@book.post("/book/<site_code>/bookings")
@answers_json
def create(site_code: str) -> ResponseReturnValue:
    ctx = luot()
    with ctx.db.read() as db_session:
        site = site_of(db_session, site_code)
    staff = staff_rules.staff_of(site.id or 0)
    citizen = current_citizen()
    if staff is None and citizen is None:
        raise refused.IdentifyFirst()
    body = parse_body(BookRequest)
    key = idempotency_key()
    language = body.language if body.language in ("vi", "en") else "vi"
    contact = verified_contact(body.contact, citizen, staff)
    slot_at, card = _aware(body.slot), card_key(body.card)
    asker = staff.issuer_key if staff is not None else f"citizen:{citizen.person_key if citizen else ''}"
    request_key = use.key_hash("book", str(site.id), asker, key) if key else None
    digest = use.key_hash(body.service, slot_at.astimezone(UTC).isoformat(), card or "", contact or "", language)
    outcome = ctx.run(
        book_and_tell,
        page=f"{ctx.settings.base_url}/book/{site.code}",
        site_id=site.id or 0,
        service_code=body.service,
        slot_at=slot_at,
        person_key=citizen.person_key if citizen and staff is None else None,
        card_key=card,
        contact=contact,
        language=language,
        channel="staff" if staff is not None else "online",
        request_key=request_key,
        request_digest=digest,
        secret=link_secret(request_key) if request_key else None,
    )
    assert isinstance(outcome, use.BookingOutcome) and outcome.appointment is not None
    link = link_of(site.code, outcome.secret)
    with ctx.db.read() as db_session:
        payload = booking_json(db_session, outcome.appointment, ctx.clock.now())
    answer = {"booking": payload, "link": link, "secret": outcome.secret, "repeated": not outcome.created}
    return jsonify(answer), 201 if outcome.created else 200


@book.post("/book/<site_code>/online")
@answers_json
def online(site_code: str) -> ResponseReturnValue:
    ctx = luot()
    citizen = current_citizen()
    if citizen is None:
        raise refused.IdentifyFirst()
    body = parse_body(OnlineRequest)
    with ctx.db.read() as db_session:
        site = site_of(db_session, site_code)
    key = idempotency_key()
    outcome = ctx.run(
        take_online_number,
        site_id=site.id or 0,
        service_code=body.service,
        person_key=citizen.person_key,
        idempotency_key=key,
    )
    from server.api.tickets import issued

    return jsonify(issued(outcome)), 201 if outcome.created else 200


def _by_secret(site_code: str, secret: str) -> tuple[Site, Appointment]:
    with luot().db.read() as db_session:
        site = site_of(db_session, site_code)
        appointment = use.appointment_by_secret(db_session, secret)
    if appointment.site_id != site.id:
        raise refused.UnknownBooking()
    return site, appointment


@book.get("/book/<site_code>/b/<secret>")
@answers_json
def show(site_code: str, secret: str) -> ResponseReturnValue:
    _site, appointment = _by_secret(site_code, secret)
    ctx = luot()
    with ctx.db.read() as db_session:
        return jsonify({"booking": booking_json(db_session, appointment, ctx.clock.now())})


@book.post("/book/<site_code>/b/<secret>/cancel")
@answers_json
def cancel(site_code: str, secret: str) -> ResponseReturnValue:
    site, appointment = _by_secret(site_code, secret)
    return _changed("cancelled", site, secret, use.cancel, appointment_id=appointment.id)


@book.post("/book/<site_code>/b/<secret>/move")
@answers_json
def move(site_code: str, secret: str) -> ResponseReturnValue:
    body = parse_body(MoveRequest)
    site, appointment = _by_secret(site_code, secret)
    return _changed("changed", site, secret, use.move, appointment_id=appointment.id, slot_at=_aware(body.slot))


def _changed(kind: str, site: Site, secret: str, use_case: Any, **kwargs: Any) -> ResponseReturnValue:
    """A move or cancellation (`use_case`) and its message, by the link (`secret`) or by staff (""); the request's
    Idempotency-Key makes its repeat answer the booking as it stands."""
    ctx = luot()
    link = link_of(site.code, secret) if secret else f"{ctx.settings.base_url}/book/{site.code}"
    key = idempotency_key()
    kwargs["change_key"] = use.key_hash("change", key) if key else None
    outcome = ctx.run(change_and_tell, change=use_case, kind=kind, link=link, **kwargs)
    assert isinstance(outcome, use.BookingOutcome) and outcome.appointment is not None
    with ctx.db.read() as db_session:
        payload = booking_json(db_session, outcome.appointment, ctx.clock.now())
    return jsonify({"booking": payload})


@book.get("/book/<site_code>/b/<secret>/booking.ics")
def calendar(site_code: str, secret: str) -> ResponseReturnValue:
    site, appointment = _by_secret(site_code, secret)
    ctx = luot()
    with ctx.db.read() as db_session:
        info = booking_json(db_session, appointment, ctx.clock.now())
    text = booking_ics(
        uid=f"{appointment.code}-{site.code}@luot",
        start=appointment.slot_at,
        minutes=info["minutes"],
        summary=f"{info['service']['name']} – {appointment.code}",
        location=", ".join(p for p in (site.name, site.address) if p),
        description=f"Mã lịch hẹn / booking code: {appointment.code}\n{link_of(site.code, secret)}",
        now=ctx.clock.now(),
        sequence=ics_sequence(appointment),
        cancelled=appointment.status == AppointmentStatus.CANCELLED,
    )
    response = Response(text, mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'attachment; filename="lich-hen-{appointment.code}.ics"'
    return response


def ics_sequence(appointment: Appointment) -> int:
    """Seconds from the booking to its last change: grows with each move or cancellation (0 before any)."""
    if appointment.created_at is None or appointment.changed_at is None:
        return 0
    return max(int((appointment.changed_at - appointment.created_at).total_seconds()), 0)


@book.get("/book/<site_code>/b/<secret>/qr.svg")
def qr(site_code: str, secret: str) -> ResponseReturnValue:
    from server.qr_svg import qr_svg

    _site, appointment = _by_secret(site_code, secret)
    response = Response(qr_svg(appointment.code), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
