"""Issuing: a citizen takes the next number of a service, or checks in an appointment."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from types import SimpleNamespace

from sqlalchemy import bindparam, func
from sqlmodel import Session, select

from server.clock import LOCAL_TZ, local_date
from server.domain import errors, rows
from server.domain.booking_rules import AppointmentStatus, check_in, normalised_code
from server.domain.events import TicketIssued
from server.domain.hours import is_open
from server.domain.numbering import allocate_number, display_number
from server.domain.outcome import Outcome
from server.domain.person_limits import check_person_limits
from server.domain.queries import site_rules, ticket_view
from server.domain.vocabulary import PRIORITY_CODES, Channel, EventKind, TicketStatus
from server.models import Appointment, Service, Ticket

# Statements of the issue path, built once (building them cost more than running them).
_SERVICE_BY_CODE = select(Service).where(Service.site_id == bindparam("site_id"), Service.code == bindparam("code"))
_BY_IDEMPOTENCY_KEY = select(Ticket).where(
    Ticket.issuer_key == bindparam("issuer_key"), Ticket.idempotency_key == bindparam("key")
)
_ISSUED_TODAY = (
    select(func.count())
    .select_from(Ticket)
    .where(Ticket.origin_service_id == bindparam("service_id"), Ticket.service_date == bindparam("day"))
)
_APPOINTMENT_BY_CODE = select(Appointment).where(
    Appointment.site_id == bindparam("site_id"), Appointment.code == bindparam("code")
)


def service_by_code(session: Session, site_id: int, code: str) -> Service:
    """The active service `code` of a site. Raises UnknownService (404)."""
    service = session.exec(_SERVICE_BY_CODE, params={"site_id": site_id, "code": code}).first()
    if service is None or not service.active:
        raise errors.UnknownService(service=code)
    return service


def issue_ticket(
    session: Session,
    now: datetime,
    *,
    site_id: int,
    service_code: str | None = None,
    priority: str = "",
    appointment_code: str | None = None,
    channel: str = Channel.KIOSK,
    issuer_key: str = "",
    idempotency_key: str | None = None,
    person_key: str | None = None,
) -> Outcome:
    """Give a citizen the next number of a service (or check in today's appointment `appointment_code`).

    The number is the next of the service's sequence on the local service date (`numbering`). A repeated
    `idempotency_key` of the same issuer returns the ticket issued the first time (`created` False). The
    figures promised to the citizen (people ahead, wait) come from the line's projection once committed
    (`server.domain.outlook`).

    Raises UnknownService (404), InvalidPriority (400), UnknownAppointment (404), AppointmentUsed (409),
    BookingLapsed or BookingNotChangeable (409, a lapsed or cancelled booking), ServiceClosed (409, outside
    opening hours), DailyCapReached (409), NumbersExhausted (409),
    IdempotencyConflict (409, the key was used for another service), PersonServiceLimitReached or
    PersonDailyLimitReached (409, `server.domain.person_limits`).

    An appointment checked in inside its window (SiteRules) is ordered by its slot; outside it, the ticket is an
    ordinary one and its issued event keeps the slot (`booked_for`).

    `person_key` (server/identity/citizen.py): the identified citizen, stored on the ticket; their per-person
    limits are checked in this same write transaction (so two requests of one person cannot both pass). An
    appointment's check-in carries the booking's person key and is not counted again (the booking was).
    """
    if idempotency_key:
        existing = session.exec(_BY_IDEMPOTENCY_KEY, params={"issuer_key": issuer_key, "key": idempotency_key}).first()
        if existing is not None:
            return _repeat_of(session, existing, now, service_code, appointment_code)
    priority = _checked_priority(priority)
    appointment = _appointment_to_check_in(session, site_id, now, appointment_code) if appointment_code else None
    service: Service | SimpleNamespace | None
    if appointment is not None:
        service = session.get(Service, appointment.service_id)
        assert service is not None
        channel = Channel.APPOINTMENT
    elif service_code:
        service = _service_to_issue(session, site_id, service_code)
    else:
        raise errors.UnknownService(service="")
    assert service is not None
    today = local_date(now)
    _check_receiving(session, service, now, today)
    if appointment is not None:
        person_key = appointment.person_key
    elif person_key:
        limits = site_rules(session, service.site_id).person_limits
        check_person_limits(
            session,
            site_id=service.site_id,
            person_key=person_key,
            service_id=service.id or 0,
            day=today,
            limits=limits,
            now=now,
        )
    logged: dict[str, object] = {"channel": channel, "priority": priority}
    appointment_at = None
    if appointment is not None:
        # inside its window the ticket is ordered by its slot; outside, an ordinary ticket that keeps the slot
        appointment_at = check_in(appointment, now, site_rules(session, site_id))
        logged.update(booked_for=appointment.slot_at.isoformat(), appointment=appointment.code)
    ticket = _new_ticket(session, now, today, service, priority, channel, issuer_key, idempotency_key)
    ticket.person_key, ticket.appointment_at = person_key or None, appointment_at
    ticket = rows.insert_ticket(session.connection(), **vars(ticket))
    rows.append_event(session.connection(), ticket, EventKind.ISSUED, now, None, None, **logged)
    if appointment is not None:
        appointment.ticket_id = ticket.id
        session.add(appointment)
    view = ticket_view(session, ticket, {})  # type: ignore[arg-type]  # a row reads as a Ticket
    event = TicketIssued(site_id=site_id, at=now, ticket=view, service_ids=frozenset({ticket.service_id}))
    return Outcome(view, [event], created=True)


def _checked_priority(priority: str | None) -> str:
    """ "" (ordinary) or a known priority class. Raises InvalidPriority (400)."""
    if priority and priority not in PRIORITY_CODES:
        raise errors.InvalidPriority(priority=priority)
    return priority or ""


def _appointment_to_check_in(session: Session, site_id: int, now: datetime, code: str) -> Appointment:
    """Today's unused appointment `code`. Raises UnknownAppointment (404), AppointmentOtherDay (409: a booking
    still held for another day, named with its local date and time) or AppointmentUsed (409)."""
    code = normalised_code(code)
    appointment = session.exec(_APPOINTMENT_BY_CODE, params={"site_id": site_id, "code": code}).first()
    if appointment is None:
        raise errors.UnknownAppointment()
    if local_date(appointment.slot_at) != local_date(now):
        if local_date(appointment.slot_at) > local_date(now) and appointment.status == AppointmentStatus.BOOKED:
            slot = appointment.slot_at.astimezone(LOCAL_TZ)
            raise errors.AppointmentOtherDay(time=slot.strftime("%H:%M"), day=slot.strftime("%d/%m/%Y"))
        raise errors.UnknownAppointment()
    if appointment.ticket_id is not None:
        raise errors.AppointmentUsed()
    return appointment


def _check_receiving(session: Session, service: Service | SimpleNamespace, now: datetime, today: date) -> None:
    """The service takes citizens now (its hours, the site's holidays and demo rule). Raises ServiceClosed or
    DailyCapReached (409)."""
    if not is_open(site_rules(session, service.site_id).hours_of(service.opening_hours), now):
        raise errors.ServiceClosed()
    if service.daily_cap is not None:
        issued_today = session.exec(_ISSUED_TODAY, params={"service_id": service.id, "day": today}).one()
        if issued_today >= service.daily_cap:
            raise errors.DailyCapReached(cap=service.daily_cap)


def _service_to_issue(session: Session, site_id: int, code: str) -> SimpleNamespace:
    """`service_by_code` as a row (a statement, not an ORM load: every kiosk tap). Raises UnknownService (404)."""
    service = rows.service_row(session.connection(), site_id, code)
    if service is None or not service.active:
        raise errors.UnknownService(service=code)
    return service


def _new_ticket(
    session: Session,
    now: datetime,
    today: date,
    service: Service | SimpleNamespace,
    priority: str,
    channel: str,
    issuer_key: str,
    idempotency_key: str | None,
) -> SimpleNamespace:
    """The values of a waiting ticket with the next number of the service's sequence (not inserted yet: the caller
    completes and inserts them, `rows.insert_ticket`)."""
    sequence = rows.sequence_row(session.connection(), service.sequence_id)
    assert sequence is not None
    number = allocate_number(session, sequence, today)  # type: ignore[arg-type]  # a row reads as a sequence
    return SimpleNamespace(
        site_id=service.site_id,
        service_id=service.id or 0,
        agency_id=service.agency_id,
        origin_service_id=service.id or 0,
        sequence_id=sequence.id or 0,
        service_date=today,
        number=number,
        display_number=display_number(sequence, number),  # type: ignore[arg-type]
        priority=priority,
        channel=channel,
        status=TicketStatus.WAITING,
        issued_at=now,
        queue_since=now,
        tracking_token=secrets.token_urlsafe(16),
        issuer_key=issuer_key,
        idempotency_key=idempotency_key or None,
    )


def _repeat_of(
    session: Session, ticket: Ticket, now: datetime, service_code: str | None, appointment_code: str | None
) -> Outcome:
    """The first answer again for a repeated request: the same service, or the same appointment checked in, on the
    same local day. Raises IdempotencyConflict (409) otherwise: a key used for another service or booking, or on
    another day, names another request (a retry comes within moments, not after midnight)."""
    if ticket.service_date != local_date(now):
        raise errors.IdempotencyConflict()
    if appointment_code is not None:
        booking = session.exec(select(Appointment).where(Appointment.ticket_id == ticket.id)).first()
        same = booking is not None and booking.code == normalised_code(appointment_code)
    else:
        service = session.get(Service, ticket.origin_service_id)
        same = ticket.channel != Channel.APPOINTMENT and service is not None and service.code == service_code
    if not same:
        raise errors.IdempotencyConflict()
    return Outcome(ticket_view(session, ticket), [], created=False)
