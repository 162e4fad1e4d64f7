"""Per-person limits: how many numbers and bookings one citizen may hold on one day at one site (issue 18).

The rule (after Hà Nội's iHanoi: at most 2 numbers a person a day, 1 per field): a person — known by their
person key (server/identity/citizen.py: the keyed hash of a phone or ID number) — may hold at most
`per_day` numbers and bookings a day at a site, and at most `per_service` for one service. Kiosk, staff and
online numbers and bookings count together:

- tickets of that local service date at that site with that person key, whatever their channel and status,
  except `cancelled` ones (a number given back before being served frees its place; the day close cancels
  only after the day is over). A no-show still counts: otherwise a number could be taken, missed and taken
  again all day. Per service counts by the service the number was taken for (`origin_service_id`), so a
  transfer by a clerk does not free a place.
- appointments (bookings) of that site whose slot is on that day, with that person key, still `booked`: not
  checked in (a checked-in booking is counted once, as its ticket), not cancelled and not lapsed (a booking is
  lapsed once `booking_lapse_minutes` have passed after its slot, whether or not the sweep has written it yet:
  `server.domain.booking_rules.effective_appointment_status`). Cancelling a booking also drops its person keys
  (server/domain/booking.py: a cancelled booking needs no personal data), but the count does not rely on that.

Sites set the limits in their settings (`person_limit_per_day`, `person_limit_per_service`; 0 = no limit).
The limits are per site: the same person may also go to another centre of the province that day.

Race safety: the caller checks inside the write transaction that records the new number or booking. In SQLite
mode that transaction begins IMMEDIATE under the process's write lock (server/db.py), so two requests of the
same person are serialised and the second sees the first; on PostgreSQL a transaction-scoped advisory lock
on the person key does the same.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, func, text
from sqlmodel import Session, col, select

from server.clock import local_midnight
from server.domain.booking_rules import DEFAULT_LAPSE_MINUTES, AppointmentStatus, lapses_at
from server.domain.errors import N_, DomainError
from server.domain.vocabulary import TicketStatus
from server.models import Appointment, Ticket


@dataclass(frozen=True)
class PersonLimits:
    """At most `per_day` numbers and bookings a day at a site, `per_service` for one service; 0 = no limit.
    `lapse_minutes`: the site's `booking_lapse_minutes` (a booking not checked in by then no longer counts)."""

    per_day: int = 2
    per_service: int = 1
    lapse_minutes: int = DEFAULT_LAPSE_MINUTES


class PersonDailyLimitReached(DomainError):
    code, status, message = (
        "person_daily_limit",
        409,
        N_("You already have {count} numbers or bookings for this day here: at most {limit} a day per person."),
    )


class PersonServiceLimitReached(DomainError):
    code, status, message = (
        "person_service_limit",
        409,
        N_("You already have a number or booking for this service on this day: at most {limit} per person."),
    )


_TICKETS = (
    select(Ticket.origin_service_id, func.count())
    .where(
        Ticket.person_key == bindparam("person_key"),
        Ticket.service_date == bindparam("day"),
        Ticket.site_id == bindparam("site_id"),
        Ticket.status != TicketStatus.CANCELLED,
    )
    .group_by(col(Ticket.origin_service_id))
)
# No site condition in SQL: SQLite would then read the site's whole index instead of the person's few rows.
_APPOINTMENTS = select(Appointment.id, Appointment.site_id, Appointment.service_id, Appointment.slot_at).where(
    Appointment.person_key == bindparam("person_key"),
    Appointment.slot_at >= bindparam("start"),
    Appointment.slot_at < bindparam("end"),
    Appointment.status == AppointmentStatus.BOOKED,
    col(Appointment.ticket_id).is_(None),
)


def person_holdings(
    session: Session,
    *,
    site_id: int,
    person_key: str,
    day: date,
    now: datetime | None = None,
    lapse_minutes: int = DEFAULT_LAPSE_MINUTES,
    ignore_appointment: int | None = None,
) -> dict[int, int]:
    """Service id → how many numbers and open bookings (`booked`, not lapsed at `now`: with `now` None none is
    taken as lapsed) the person holds on `day` at the site; `ignore_appointment`: a booking id left out (the one
    being moved)."""
    params = {"person_key": person_key, "day": day, "site_id": site_id}
    held: dict[int, int] = {}
    for service_id, count in session.exec(_TICKETS, params=params):
        held[service_id] = held.get(service_id, 0) + count
    window = {"start": local_midnight(day), "end": local_midnight(day + timedelta(days=1))}
    for booking_id, booked_site, service_id, slot_at in session.exec(
        _APPOINTMENTS, params={"person_key": person_key, **window}
    ):
        if booked_site != site_id or booking_id == ignore_appointment:
            continue
        if now is not None and now >= lapses_at(slot_at, lapse_minutes):
            continue
        held[service_id] = held.get(service_id, 0) + 1
    return held


def check_person_limits(
    session: Session,
    *,
    site_id: int,
    person_key: str,
    service_id: int,
    day: date,
    limits: PersonLimits,
    now: datetime | None = None,
    ignore_appointment: int | None = None,
) -> None:
    """Refuses one more number or booking for `service_id` on local date `day` when the person already holds the
    most their site allows. Call it inside the write transaction that records the new one (or moves a booking:
    `ignore_appointment` is then the moved booking, not counted where it stood), before the write. `now`: the
    use case's time (bookings lapsed by then do not count).

    Raises PersonServiceLimitReached (409) or PersonDailyLimitReached (409); returns None when it may go ahead.
    """
    _lock_person(session, person_key)
    held = person_holdings(
        session,
        site_id=site_id,
        person_key=person_key,
        day=day,
        now=now,
        lapse_minutes=limits.lapse_minutes,
        ignore_appointment=ignore_appointment,
    )
    if limits.per_service and held.get(service_id, 0) >= limits.per_service:
        raise PersonServiceLimitReached(limit=limits.per_service)
    total = sum(held.values())
    if limits.per_day and total >= limits.per_day:
        raise PersonDailyLimitReached(count=total, limit=limits.per_day)


def _lock_person(session: Session, person_key: str) -> None:
    """PostgreSQL: a transaction-scoped advisory lock per person, so two concurrent checks of one person are
    serialised (SQLite's write transactions already are)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    number = int.from_bytes(hashlib.sha256(person_key.encode()).digest()[:8], "big", signed=True)
    session.connection().execute(text("SELECT pg_advisory_xact_lock(:n)"), {"n": number})
