"""JSON shapes, one per concept, shared by the REST API, the snapshots and the Socket.IO events.

Each function takes the read model of its concept (`TicketView`, `CounterView`, `ServiceFigures`, …), never a
database row, so a ticket or a counter looks the same wherever it is seen.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.domain.hours import is_open
from server.domain.line import Call, Entry
from server.domain.outlook import ServiceFigures, TicketOutlook
from server.domain.readmodels import CounterView, TicketView
from server.domain.rules import SiteRules
from server.models import Agency, Service, Site


def site_dict(site: Site) -> dict[str, Any]:
    return {"id": site.id, "code": site.code, "name": site.name, "kind": site.kind}


def agency_dict(agency: Agency) -> dict[str, Any]:
    return {
        "id": agency.id,
        "code": agency.code,
        "name": agency.name,
        "name_en": agency.name_en,
        "floor": agency.floor,
        "active": agency.active,
    }


def service_dict(service: Service, now: datetime, rules: SiteRules | None = None) -> dict[str, Any]:
    """A service as kiosks and boards see it; `open_now` follows the site's calendar when `rules` are given."""
    hours = rules.hours_of(service.opening_hours) if rules is not None else service.opening_hours
    return {
        "id": service.id,
        "code": service.code,
        "name": service.name,
        "name_en": service.name_en,
        "agency_id": service.agency_id,
        "daily_cap": service.daily_cap,
        "opening_hours": service.opening_hours,
        "open_now": is_open(hours, now) and service.active,
        "target_wait_minutes": service.target_wait_minutes,
    }


def queue_dict(figures: ServiceFigures) -> dict[str, Any]:
    """A service's line: `estimated_wait_minutes` is for a ticket issued now and null while no counter serving it
    is open (`opens_at`: when receiving starts later today, if it does)."""
    return {
        "service_id": figures.service_id,
        "agency_id": figures.agency_id,
        "waiting": figures.waiting,
        "open_counters": figures.open_counters,
        "estimated_wait_minutes": figures.wait_minutes,
        "longest_wait_seconds": figures.longest_wait_seconds,
        "service_minutes": figures.typical_minutes,
        "last_called": figures.last_called,
        "opens_at": figures.opens_at.isoformat() if figures.opens_at else None,
    }


def counter_dict(counter: CounterView, current: dict[str, Any] | None = None, staff: bool = False) -> dict[str, Any]:
    """A counter as the hall sees it; the pause reason is for staff only (`staff`)."""
    data = {
        "id": counter.id,
        "number": counter.number,
        "name": counter.name,
        "status": counter.status,
        "service_ids": list(counter.service_ids),
        "staffed": counter.clerk_id is not None,
        "current": current,
    }
    data["pause_reason"] = counter.pause_reason if staff else ""
    return data


def public_ticket(ticket: TicketView) -> dict[str, Any]:
    """A ticket as anyone in the hall may see it: no tracking token, no personal data."""
    return {
        "id": ticket.id,
        "display_number": ticket.display_number,
        "number": ticket.number,
        "status": ticket.status,
        "priority": ticket.priority,
        "service_id": ticket.service_id,
        "agency_id": ticket.agency_id,
        "counter_id": ticket.counter_id,
        "counter_number": ticket.counter_number,
        "issued_at": ticket.issued_at.isoformat(),
        "queue_since": ticket.queue_since.isoformat(),
        "recall_count": ticket.recall_count,
        "transferred": ticket.transfer_count > 0,
    }


def outlook_dict(outlook: TicketOutlook | None) -> dict[str, Any]:
    """A waiting ticket's figures: people ahead, wait (null: no counter open), `opens_at`."""
    if outlook is None:
        return {"waiting_ahead": 0, "estimated_wait_minutes": None, "no_counter_open": False, "opens_at": None}
    return {
        "waiting_ahead": outlook.ahead,
        "estimated_wait_minutes": outlook.wait_minutes,
        "no_counter_open": outlook.no_counter_open,
        "opens_at": outlook.opens_at.isoformat() if outlook.opens_at else None,
    }


def entry_dict(entry: Entry, now: datetime) -> dict[str, Any]:
    """One ticket of a counter's order, with why it stands there and how long it has waited."""
    return {
        **public_ticket(entry.ticket),
        "reasons": [str(reason) for reason in entry.reasons],
        "wait_seconds": int((now - entry.ticket.queue_since).total_seconds()),
    }


def call_dict(call: Call, counters: dict[int, CounterView]) -> dict[str, Any]:
    counter = counters.get(call.counter_id)
    return {
        "call_id": call.call_id,
        "kind": call.kind,
        "at": call.at.isoformat(),
        "display_number": call.display_number,
        "ticket_id": call.ticket_id,
        "service_id": call.service_id,
        "agency_id": call.agency_id,
        "counter": {
            "id": call.counter_id,
            "number": counter.number if counter else None,
            "name": counter.name if counter else "",
        },
    }
