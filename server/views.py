"""JSON shapes shared by the REST API, the snapshots and the Socket.IO events."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from server.domain.hours import is_open
from server.domain.readmodels import CounterView, ServiceQueue, TicketView
from server.models import Agency, Counter, Service, Site, Ticket


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


def service_dict(service: Service, now: datetime) -> dict[str, Any]:
    return {
        "id": service.id,
        "code": service.code,
        "name": service.name,
        "name_en": service.name_en,
        "agency_id": service.agency_id,
        "daily_cap": service.daily_cap,
        "opening_hours": service.opening_hours,
        "open_now": is_open(service.opening_hours, now) and service.active,
        "target_wait_minutes": service.target_wait_minutes,
    }


def queue_dict(queue: ServiceQueue) -> dict[str, Any]:
    data = asdict(queue)
    data["order"] = list(queue.order)
    return data


def counter_dict(
    counter: Counter | CounterView, service_ids: list[int], current: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "id": counter.id,
        "number": counter.number,
        "name": counter.name,
        "status": counter.status,
        "pause_reason": counter.pause_reason,
        "service_ids": service_ids,
        "staffed": counter.clerk_id is not None,
        "current": current,
    }


def public_ticket(ticket: Ticket | TicketView) -> dict[str, Any]:
    """A ticket as anyone in the hall may see it: no tracking token, no personal data."""
    counter_number = ticket.counter_number if isinstance(ticket, TicketView) else None
    return {
        "id": ticket.id,
        "display_number": ticket.display_number,
        "number": ticket.number,
        "status": ticket.status,
        "priority": ticket.priority,
        "service_id": ticket.service_id,
        "agency_id": ticket.agency_id,
        "counter_id": ticket.counter_id,
        "counter_number": counter_number,
        "issued_at": ticket.issued_at.isoformat(),
        "queue_since": ticket.queue_since.isoformat(),
        "recall_count": ticket.recall_count,
    }
