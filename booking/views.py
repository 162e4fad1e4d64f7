"""What the booking page and staff read: the services that take bookings or online numbers, the slots of a day
with their remaining seats, and a booking as JSON (no personal data: never the contact or the person key)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from server.clock import LOCAL_TZ, local_date, local_midnight
from server.domain.booking import service_hours
from server.domain.booking_rules import BookingSettings, booking_days, effective_appointment_status, may_book, slots_on
from server.domain.hours import is_open
from server.domain.queries import site_rules
from server.models import Agency, Appointment, BookingSlot, Service, Site


def catalogue(session: Session, site: Site, now: datetime) -> list[dict[str, Any]]:
    """Agencies with their services that take bookings or give online numbers today."""
    rules = site_rules(session, site.id or 0)
    agencies = session.exec(
        select(Agency).where(Agency.site_id == site.id, col(Agency.active)).order_by(col(Agency.sort_order))
    ).all()
    services = session.exec(
        select(Service).where(Service.site_id == site.id, col(Service.active)).order_by(col(Service.sort_order))
    ).all()
    out = []
    for agency in agencies:
        offered = [
            {
                "code": s.code,
                "name": s.name,
                "name_en": s.name_en,
                "bookable": s.bookable,
                "online": s.online_numbers,
                "open_now": s.online_numbers and is_open(rules.hours_of(s.opening_hours), now),
                "slot_minutes": s.slot_minutes,
            }
            for s in services
            if s.agency_id == agency.id and (s.bookable or s.online_numbers)
        ]
        if offered:
            out.append({"code": agency.code, "name": agency.name, "name_en": agency.name_en, "services": offered})
    return out


def _seats(session: Session, service_id: int, day: date) -> dict[datetime, int]:
    start = local_midnight(day)
    rows = session.exec(
        select(BookingSlot).where(
            BookingSlot.service_id == service_id,
            col(BookingSlot.slot_at) >= start,
            col(BookingSlot.slot_at) < start + timedelta(days=1),
        )
    ).all()
    return {row.slot_at: row.booked for row in rows}


def days(session: Session, service: Service, now: datetime) -> list[dict[str, Any]]:
    """Today and the days ahead: each with how many seats are still free and whether it has slots left at all
    (`open` False: a closed day, a holiday, or today after its last slot)."""
    settings = BookingSettings.of(service)
    hours = service_hours(site_rules(session, service.site_id), service)
    out = []
    for day in booking_days(now, settings.days_ahead):
        offered = _slots(session, service, settings, hours, day, now)
        free = sum(slot["remaining"] for slot in offered)
        out.append({"date": day.isoformat(), "weekday": day.weekday(), "remaining": free, "open": bool(offered)})
    return out


def _slots(
    session: Session, service: Service, settings: BookingSettings, hours: dict, day: date, now: datetime
) -> list[dict[str, Any]]:
    taken = _seats(session, service.id or 0, day)
    out = []
    for start in slots_on(hours, day, settings.slot_minutes):
        if not may_book(start, now, settings):
            continue
        remaining = max(settings.slot_capacity - taken.get(start, 0), 0)
        out.append({"at": start.isoformat(), "time": f"{start:%H:%M}", "remaining": remaining})
    return out


def slots(session: Session, service: Service, day: date, now: datetime) -> list[dict[str, Any]]:
    """The slots of a local day still open for booking, with their remaining seats."""
    settings = BookingSettings.of(service)
    hours = service_hours(site_rules(session, service.site_id), service)
    return _slots(session, service, settings, hours, day, now)


def booking_json(session: Session, appointment: Appointment, now: datetime) -> dict[str, Any]:
    """A booking as its confirmation page shows it."""
    service = session.get(Service, appointment.service_id)
    assert service is not None
    agency = session.get(Agency, service.agency_id)
    site = session.get(Site, appointment.site_id)
    rules = site_rules(session, appointment.site_id)
    local = appointment.slot_at.astimezone(LOCAL_TZ)
    status = effective_appointment_status(appointment.status, appointment.slot_at, now, rules.booking_lapse_minutes)
    return {
        "code": appointment.code,
        "status": status,
        "slot_at": appointment.slot_at.isoformat(),
        "date": local.date().isoformat(),
        "time": f"{local:%H:%M}",
        "minutes": service.slot_minutes,
        "service": {"code": service.code, "name": service.name, "name_en": service.name_en},
        "agency": {"name": agency.name if agency else "", "name_en": agency.name_en if agency else ""},
        "site": {
            "code": site.code if site else "",
            "name": site.name if site else "",
            "address": site.address if site else "",
        },
        "changeable": status == "booked" and appointment.slot_at > now,
        "today": local.date() == local_date(now),
        "checked_in": appointment.ticket_id is not None,
    }


def day_bookings(session: Session, site_id: int, day: date, now: datetime) -> list[dict[str, Any]]:
    """The bookings of a local day per service, for staff (codes and times; no contact details)."""
    start = local_midnight(day)
    rules = site_rules(session, site_id)
    rows = session.exec(
        select(Appointment, Service)
        .join(Service, col(Service.id) == Appointment.service_id)
        .where(
            Appointment.site_id == site_id,
            col(Appointment.slot_at) >= start,
            col(Appointment.slot_at) < start + timedelta(days=1),
        )
        .order_by(col(Service.sort_order), col(Appointment.slot_at))
    ).all()
    grouped: dict[str, dict[str, Any]] = {}
    for appointment, service in rows:
        group = grouped.setdefault(
            service.code, {"service": service.code, "name": service.name, "name_en": service.name_en, "bookings": []}
        )
        group["bookings"].append(
            {
                "id": appointment.id,
                "code": appointment.code,
                "time": f"{appointment.slot_at.astimezone(LOCAL_TZ):%H:%M}",
                "slot_at": appointment.slot_at.isoformat(),
                "status": effective_appointment_status(
                    appointment.status, appointment.slot_at, now, rules.booking_lapse_minutes
                ),
                "channel": appointment.channel,
            }
        )
    return list(grouped.values())
