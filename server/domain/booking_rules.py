"""Booked slots, the pure part: which slots a bookable service offers, whether one may still be booked, when a
booking lapses, and the booking code (no database, no framework).

A bookable service (``Service.bookable``) offers slots of ``slot_minutes`` inside its receiving periods
(``server.domain.hours``: the service's opening hours with the site's holidays folded in): a period 07:30–11:30
with 30-minute slots gives 07:30, 08:00 … 11:00 (a slot must end inside its period). Each slot takes
``slot_capacity`` citizens. Citizens may book from today up to ``booking_days_ahead`` days ahead, and a slot
until ``booking_cutoff_minutes`` before it starts (0: until it starts). A service without opening hours offers
no slots (a booking needs a time the hall is staffed).

A booking checked in at the kiosk from ``appointment_early_minutes`` before its slot to
``appointment_late_minutes`` after it (``SiteRules``) is called first (``server.domain.ordering``); checked in
outside that window it becomes an ordinary ticket that remembers its slot. A booking not checked in
``booking_lapse_minutes`` (SiteRules.extra, default 60) after its slot has lapsed: the kiosk refuses it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from server.clock import LOCAL_TZ, local_date
from server.domain import booking_errors as refused
from server.domain.errors import DomainError
from server.domain.hours import periods_on

if TYPE_CHECKING:
    from server.domain.rules import SiteRules

#: Booking codes: no 0/O, 1/I/L, so a code read aloud on the phone or typed at the kiosk is not misread.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
DEFAULT_LAPSE_MINUTES = 60
#: A booking is moved at most this many times from its confirmation link (then: cancel and book again, or the
#: centre's staff move it); each move texts its contact, so the cap bounds the messages one booking sends.
MAX_LINK_MOVES = 3
#: At most this many "booking changed" messages per booking, whoever moved it (staff moves after the link's).
MAX_CHANGE_NOTICES = 5


class AppointmentStatus(StrEnum):
    """Where a booking is in its life: booked → checked_in, or cancelled (by the citizen or staff), or lapsed
    (not checked in in time)."""

    BOOKED = "booked"
    CHECKED_IN = "checked_in"
    CANCELLED = "cancelled"
    LAPSED = "lapsed"


@dataclass(frozen=True)
class BookingSettings:
    """A service's booking settings (the columns of ``Service`` of the same names; minutes and days)."""

    bookable: bool
    slot_minutes: int
    slot_capacity: int
    days_ahead: int
    cutoff_minutes: int

    @classmethod
    def of(cls, service: Any) -> BookingSettings:
        return cls(
            bool(service.bookable),
            int(service.slot_minutes),
            int(service.slot_capacity),
            int(service.booking_days_ahead),
            int(service.booking_cutoff_minutes),
        )


def new_code() -> str:
    """A fresh booking code: 8 characters of `CODE_ALPHABET` (≈ 40 bits)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalised_code(text: str) -> str:
    """A typed or scanned code as stored: upper case, spaces dropped (codes made elsewhere may hold dashes)."""
    return "".join(text.upper().split())


def slots_on(hours: dict[str, Any], day: date, slot_minutes: int) -> list[datetime]:
    """The slot starts (aware, local time) of a local `day`: every `slot_minutes` from each period's start, each
    slot ending by the period's end. Empty for closed days and for services without hours (``{}``)."""
    if not hours or slot_minutes <= 0:
        return []
    step = timedelta(minutes=slot_minutes)
    starts: list[datetime] = []
    for start, end in sorted(periods_on(hours, day)):
        at = datetime.combine(day, start, LOCAL_TZ)
        stop = datetime.combine(day, end, LOCAL_TZ)
        while at + step <= stop:
            starts.append(at)
            at += step
    return starts


def booking_days(now: datetime, days_ahead: int) -> Iterator[date]:
    """Today and the next `days_ahead` local days."""
    today = local_date(now)
    for offset in range(max(days_ahead, 0) + 1):
        yield today + timedelta(days=offset)


def may_book(slot_at: datetime, now: datetime, settings: BookingSettings) -> bool:
    """Whether a slot starting at `slot_at` may still be booked at `now` (before the cut-off, within the days
    ahead)."""
    if slot_at - timedelta(minutes=max(settings.cutoff_minutes, 0)) <= now:
        return False
    return local_date(slot_at) <= local_date(now) + timedelta(days=settings.days_ahead)


def closed_reason(slot_at: datetime, now: datetime, settings: BookingSettings) -> DomainError:
    """Why `may_book` said no: BookingTooFar past the days ahead ("choose an earlier day"), else BookingClosed
    (past its cut-off: "choose a later one"). Both 409."""
    if local_date(slot_at) > local_date(now) + timedelta(days=settings.days_ahead):
        return refused.BookingTooFar(days=settings.days_ahead)
    return refused.BookingClosed()


def in_check_in_window(slot_at: datetime, now: datetime, early_minutes: int, late_minutes: int) -> bool:
    """Whether a booking for `slot_at` checked in at `now` is inside its window (called first)."""
    return slot_at - timedelta(minutes=early_minutes) <= now <= slot_at + timedelta(minutes=late_minutes)


def lapses_at(slot_at: datetime, lapse_minutes: int) -> datetime:
    """The instant a booking not checked in lapses: `lapse_minutes` after its slot, at the latest at the end
    of its local day."""
    end_of_day = datetime.combine(local_date(slot_at) + timedelta(days=1), datetime.min.time(), LOCAL_TZ)
    return min(slot_at + timedelta(minutes=max(lapse_minutes, 0)), end_of_day)


def effective_appointment_status(status: str, slot_at: datetime, now: datetime, lapse_minutes: int) -> str:
    """What every reader must say of a booking: one still `booked` past its lapse time has lapsed, whether or
    not the sweep (`server.domain.booking.lapse_bookings`) has written it yet."""
    if status == AppointmentStatus.BOOKED and now >= lapses_at(slot_at, lapse_minutes):
        return AppointmentStatus.LAPSED
    return status


def check_in(appointment: Any, now: datetime, rules: SiteRules) -> datetime | None:
    """Mark a booking (an `Appointment`) checked in at `now`; returns the slot its ticket is ordered by (inside
    the window) or None (outside it: an ordinary ticket). Raises BookingLapsed, BookingCancelled or
    BookingNotChangeable (409)."""
    status = effective_appointment_status(appointment.status, appointment.slot_at, now, rules.booking_lapse_minutes)
    if status == AppointmentStatus.LAPSED:
        raise refused.BookingLapsed()
    if status == AppointmentStatus.CANCELLED:  # at the kiosk: not "can no longer be changed", which puzzles
        raise refused.BookingCancelled()
    if status != AppointmentStatus.BOOKED:
        raise refused.BookingNotChangeable()
    appointment.status = AppointmentStatus.CHECKED_IN
    appointment.changed_at = now
    early, late = rules.appointment_early_minutes, rules.appointment_late_minutes
    return appointment.slot_at if in_check_in_window(appointment.slot_at, now, early, late) else None
