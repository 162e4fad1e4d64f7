"""Booked slots, the use cases: book, move, cancel, check in and lapse (rules in `server.domain.booking_rules`).

Capacity is never oversold: each (service, slot) has one `BookingSlot` row whose `booked` is raised by
``UPDATE … SET booked = booked + 1 WHERE booked < :capacity`` in the booking's own transaction; a row count
of 0 means the slot is full (SlotFull). The UPDATE holds the row (SQLite: the write lock; PostgreSQL: the row
lock, re-checking the condition after a concurrent commit), so of N bookings of the last seat exactly one
wins, on one process or many. Cancelling or moving gives the seat back the same way.

Retries are safe: a booking request carrying an Idempotency-Key (`request_key`, the SHA-256 of who asks and the
key) answers a repeat with the booking made the first time, and another request with that key 409
`idempotency_conflict` (`request_digest` tells them apart); a move or cancellation carrying one (`change_key`)
answers its repeat with the booking as it now stands, where a plain repeated cancellation is refused as
`booking_not_changeable`. A move to the slot the booking already has changes nothing. A booking is moved at most
`MAX_LINK_MOVES` times from its link (`max_moves`; the centre's staff are not held to it).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import Executable
from sqlmodel import Session, col, select

from server.clock import local_date, local_midnight
from server.domain import booking_errors as refused
from server.domain.booking_rules import (
    MAX_LINK_MOVES,
    AppointmentStatus,
    BookingSettings,
    closed_reason,
    effective_appointment_status,
    may_book,
    new_code,
    slots_on,
)
from server.domain.errors import IdempotencyConflict
from server.domain.hours import effective_hours
from server.domain.issuing import service_by_code
from server.domain.outcome import Outcome
from server.domain.person_limits import check_person_limits
from server.domain.queries import site_rules
from server.domain.rules import SiteRules
from server.models import Appointment, BookingSlot, Service, table_of

_SEATS = table_of(BookingSlot)
_TAKE = (
    update(_SEATS)
    .where(
        _SEATS.c.service_id == bindparam("b_service_id"),
        _SEATS.c.slot_at == bindparam("b_slot_at"),
        _SEATS.c.booked < bindparam("b_capacity"),
    )
    .values(booked=_SEATS.c.booked + 1)
)
_GIVE_BACK = (
    update(_SEATS)
    .where(
        _SEATS.c.service_id == bindparam("b_service_id"),
        _SEATS.c.slot_at == bindparam("b_slot_at"),
        _SEATS.c.booked > 0,
    )
    .values(booked=_SEATS.c.booked - 1)
)


def _ensure_row(dialect: str) -> Executable:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(_SEATS)
        .values(service_id=bindparam("b_service_id"), slot_at=bindparam("b_slot_at"), booked=0)
        .on_conflict_do_nothing(index_elements=[_SEATS.c.service_id, _SEATS.c.slot_at])
    )


_ENSURE = {"postgresql": _ensure_row("postgresql"), "sqlite": _ensure_row("sqlite")}


def manage_hash(secret: str) -> str:
    """SHA-256 (hex) of a confirmation link's secret: the database never holds the secret itself."""
    return hashlib.sha256(secret.encode()).hexdigest()


def key_hash(*parts: str) -> str:
    """SHA-256 (hex) of an Idempotency-Key and what scopes it (who asks): the database never holds the key."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


@dataclass
class BookingOutcome(Outcome):
    """A booking use case's result: the appointment (detached, read-only) and, when a booking is made, the
    secret of its confirmation link (shown once, never stored)."""

    appointment: Appointment | None = None
    secret: str = ""
    previous_slot: datetime | None = None
    notices: list[str] = field(default_factory=list)


def service_hours(rules: SiteRules, service: Service) -> dict:
    """The hours slots are cut from: the service's own hours with the site's holidays (never "any hour")."""
    return effective_hours(service.opening_hours, rules.holidays, False)


def _check_slot(session: Session, service: Service, slot_at: datetime, now: datetime) -> BookingSettings:
    settings = BookingSettings.of(service)
    if not settings.bookable:
        raise refused.NotBookable()
    hours = service_hours(site_rules(session, service.site_id), service)
    if slot_at not in slots_on(hours, local_date(slot_at), settings.slot_minutes):
        raise refused.UnknownSlot()
    if not may_book(slot_at, now, settings):
        raise closed_reason(slot_at, now, settings)
    return settings


def take_seat(session: Session, service_id: int, slot_at: datetime, capacity: int) -> None:
    """One seat of a slot, or SlotFull (409). Atomic: see the module's docstring."""
    connection = session.connection()
    params = {"b_service_id": service_id, "b_slot_at": slot_at}
    connection.execute(_ENSURE[connection.dialect.name], params)
    if connection.execute(_TAKE, {**params, "b_capacity": capacity}).rowcount != 1:
        raise refused.SlotFull()


def give_back_seat(session: Session, service_id: int, slot_at: datetime) -> None:
    session.connection().execute(_GIVE_BACK, {"b_service_id": service_id, "b_slot_at": slot_at})


def book(
    session: Session,
    now: datetime,
    *,
    site_id: int,
    service_code: str,
    slot_at: datetime,
    person_key: str | None = None,
    card_key: str | None = None,
    contact: str | None = None,
    language: str = "vi",
    channel: str = "online",
    request_key: str | None = None,
    request_digest: str | None = None,
    secret: str | None = None,
) -> BookingOutcome:
    """Book one seat of `slot_at` (an aware instant that must be one of the service's slots).

    `request_key` (`key_hash` of who asks and their Idempotency-Key) with `request_digest` (of what they asked)
    and `secret` (the link's secret, derived from the key by the caller so that a repeat can name it again): a
    repeated request answers the booking made the first time (`created` False, nothing changed or queued);
    another request with that key raises IdempotencyConflict (409). Without a key the secret is random.

    `person_key`: the identified citizen (server/identity/citizen.py), held to the site's per-person limits
    (server.domain.person_limits, counted with their numbers of that day); `card_key`: the person key of their
    CCCD number, so the kiosk finds the booking from the ID card's QR (a staff booking without a phone is
    limited by it);
    `contact`: a phone or e-mail for the confirmation and change messages; `channel`: online or staff.
    Raises UnknownService (404), NotBookable (409), UnknownSlot (404), BookingClosed (409),
    PersonServiceLimitReached or PersonDailyLimitReached (409), SlotFull (409).
    """
    if request_key:
        repeated = session.exec(select(Appointment).where(Appointment.request_key == request_key)).first()
        if repeated is not None:
            if repeated.request_digest != request_digest or not secret or manage_hash(secret) != repeated.manage_hash:
                raise IdempotencyConflict()
            return BookingOutcome(appointment=repeated, secret=secret, created=False)
    service = service_by_code(session, site_id, service_code)
    settings = _check_slot(session, service, slot_at, now)
    holder = person_key or card_key
    if holder:
        limits = site_rules(session, site_id).person_limits
        check_person_limits(
            session,
            site_id=site_id,
            person_key=holder,
            service_id=service.id or 0,
            day=local_date(slot_at),
            limits=limits,
            now=now,
        )
    take_seat(session, service.id or 0, slot_at, settings.slot_capacity)
    secret = secret or secrets.token_urlsafe(24)
    appointment = Appointment(
        site_id=site_id,
        service_id=service.id or 0,
        code=new_code(),
        slot_at=slot_at,
        person_key=person_key or card_key,
        status=AppointmentStatus.BOOKED,
        manage_hash=manage_hash(secret),
        channel=channel,
        contact=contact or None,
        language=language,
        created_at=now,
        card_key=card_key,
        request_key=request_key,
        request_digest=request_digest if request_key else None,
    )
    session.add(appointment)
    session.flush()
    return BookingOutcome(appointment=appointment, secret=secret)


def appointment_by_secret(session: Session, secret: str) -> Appointment:
    """The booking of a confirmation link's secret. Raises UnknownBooking (404)."""
    if not secret or len(secret) > 64:
        raise refused.UnknownBooking()
    found = session.exec(select(Appointment).where(Appointment.manage_hash == manage_hash(secret))).first()
    if found is None:
        raise refused.UnknownBooking()
    return found


def _changeable(session: Session, appointment: Appointment, now: datetime) -> None:
    rules = site_rules(session, appointment.site_id)
    status = effective_appointment_status(appointment.status, appointment.slot_at, now, rules.booking_lapse_minutes)
    if status != AppointmentStatus.BOOKED or appointment.slot_at <= now:
        raise refused.BookingNotChangeable()


def _repeated_change(appointment: Appointment, change_key: str | None, done: bool) -> bool:
    """Whether a move or cancellation repeats the booking's last change (the same Idempotency-Key): True when
    that change is what the booking now shows (`done`). Raises IdempotencyConflict (409) when the key named
    another change."""
    if not change_key or appointment.change_key != change_key:
        return False
    if not done:
        raise IdempotencyConflict()
    return True


def cancel(session: Session, now: datetime, *, appointment_id: int, change_key: str | None = None) -> BookingOutcome:
    """Cancel a booking that has not started: its seat is free again and it no longer counts towards the person's
    limits (they count `booked` bookings only). Its person keys are dropped too, as data minimisation (a
    cancelled booking needs no personal data; its contact stays until its day is over, for the cancellation
    message, then the purge clears it). `change_key` (`key_hash` of the request's Idempotency-Key): a repeat of
    this cancellation answers the cancelled booking (`created` False). Raises UnknownBooking (404),
    BookingNotChangeable (409), IdempotencyConflict (409, the key of a move)."""
    appointment = session.get(Appointment, appointment_id)
    if appointment is None:
        raise refused.UnknownBooking()
    if _repeated_change(appointment, change_key, appointment.status == AppointmentStatus.CANCELLED):
        return BookingOutcome(appointment=appointment, created=False)
    _changeable(session, appointment, now)
    give_back_seat(session, appointment.service_id, appointment.slot_at)
    appointment.status = AppointmentStatus.CANCELLED
    appointment.person_key = appointment.card_key = None
    appointment.changed_at = now
    appointment.change_key = change_key
    session.add(appointment)
    return BookingOutcome(appointment=appointment)


def move(
    session: Session,
    now: datetime,
    *,
    appointment_id: int,
    slot_at: datetime,
    change_key: str | None = None,
    max_moves: int | None = MAX_LINK_MOVES,
) -> BookingOutcome:
    """Move a booking to another slot of its service (its code stays). A move to another day is held to the
    person's limits of that day (server.domain.person_limits, the booking itself left out), checked in this
    same write transaction before the seat is taken, as `book` does. A move to the slot it has changes nothing
    (`created` False), nor does a repeat of this move (`change_key`, as `cancel`). A booking already moved
    `max_moves` times is not moved again (None: no cap, for the centre's staff). Raises UnknownBooking (404),
    BookingNotChangeable, UnknownSlot, BookingClosed, TooManyMoves, PersonServiceLimitReached or
    PersonDailyLimitReached, SlotFull, IdempotencyConflict (409)."""
    appointment = session.get(Appointment, appointment_id)
    if appointment is None:
        raise refused.UnknownBooking()
    previous = appointment.slot_at
    unchanged = BookingOutcome(appointment=appointment, previous_slot=previous, created=False)
    booked = appointment.status == AppointmentStatus.BOOKED
    if _repeated_change(appointment, change_key, booked and slot_at == previous):
        return unchanged
    _changeable(session, appointment, now)
    service = session.get(Service, appointment.service_id)
    assert service is not None
    settings = _check_slot(session, service, slot_at, now)
    if slot_at == previous:
        return unchanged
    if max_moves is not None and appointment.moves >= max_moves:
        raise refused.TooManyMoves(moves=max_moves)
    if appointment.person_key and local_date(slot_at) != local_date(previous):
        check_person_limits(
            session,
            site_id=appointment.site_id,
            person_key=appointment.person_key,
            service_id=appointment.service_id,
            day=local_date(slot_at),
            limits=site_rules(session, appointment.site_id).person_limits,
            now=now,
            ignore_appointment=appointment.id,
        )
    take_seat(session, service.id or 0, slot_at, settings.slot_capacity)
    give_back_seat(session, service.id or 0, previous)
    appointment.slot_at = slot_at
    appointment.changed_at = now
    appointment.change_key = change_key
    appointment.moves += 1
    session.add(appointment)
    return BookingOutcome(appointment=appointment, previous_slot=previous)


def todays_code_for_card(session: Session, site_id: int, now: datetime, card_key: str) -> str | None:
    """The code of today's earliest open booking at a site made with this ID card (or None): its CCCD number was
    given with the booking (`card_key`), or the citizen signed in with it (an OpenID provider giving the CCCD
    number makes the person key that same key). Without an open one, today's booking already checked in, so
    that scanning the card twice says "already checked in" (AppointmentUsed) as typing the code twice does."""
    day_start = local_midnight(local_date(now))
    found = session.exec(
        select(Appointment.code)
        .where(
            Appointment.site_id == site_id,
            or_(col(Appointment.card_key) == card_key, col(Appointment.person_key) == card_key),
            col(Appointment.status).in_([AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN]),
            col(Appointment.slot_at) >= day_start,
            col(Appointment.slot_at) < day_start + timedelta(days=1),
        )
        .order_by(col(Appointment.status) != AppointmentStatus.BOOKED, col(Appointment.slot_at))
    ).first()
    return found


def lapse_bookings(session: Session, now: datetime, limit: int = 2000) -> int:
    """Marks bookings not checked in by their lapse time (SiteRules.booking_lapse_minutes after the slot) as
    lapsed; returns how many. Safe to run at any time, from several processes."""
    candidates = session.exec(
        select(Appointment)
        .where(Appointment.status == AppointmentStatus.BOOKED, col(Appointment.slot_at) <= now)
        .limit(limit)
    ).all()
    rules: dict[int, SiteRules] = {}
    lapsed = 0
    for appointment in candidates:
        site = rules.setdefault(appointment.site_id, site_rules(session, appointment.site_id))
        status = effective_appointment_status(appointment.status, appointment.slot_at, now, site.booking_lapse_minutes)
        if status == AppointmentStatus.LAPSED:
            appointment.status = AppointmentStatus.LAPSED
            appointment.changed_at = now
            session.add(appointment)
            lapsed += 1
    return lapsed
