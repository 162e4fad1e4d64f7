"""The full current state a (re)connecting client draws from: one read, no events needed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from server.clock import local_date, local_midnight
from server.domain.queries import ServiceQueue, counter_service_ids, service_queues, site_rules
from server.domain.vocabulary import CALL_KINDS
from server.models import Agency, Counter, Service, Site, Ticket, TicketEvent
from server.views import agency_dict, counter_dict, public_ticket, queue_dict, service_dict, site_dict


def recent_calls(session: Session, site_id: int, now: datetime, limit: int = 12) -> list[dict[str, Any]]:
    """Today's latest calls and recalls, newest first."""
    since = local_midnight(local_date(now))
    rows = session.exec(
        select(TicketEvent, Ticket, Counter)
        .join(Ticket, col(Ticket.id) == TicketEvent.ticket_id)
        .join(Counter, col(Counter.id) == TicketEvent.counter_id)
        .where(TicketEvent.site_id == site_id, col(TicketEvent.kind).in_(CALL_KINDS), TicketEvent.at >= since)
        .order_by(col(TicketEvent.id).desc())
        .limit(limit)
    ).all()
    return [
        {
            "call_id": f"c{event.id}",
            "kind": event.kind,
            "at": event.at.isoformat(),
            "display_number": ticket.display_number,
            "ticket_id": ticket.id,
            "service_id": event.service_id,
            "agency_id": event.agency_id,
            "counter": {"id": counter.id, "number": counter.number, "name": counter.name},
        }
        for event, ticket, counter in rows
    ]


def site_snapshot(session: Session, site_id: int, now: datetime) -> dict[str, Any]:
    site = session.get(Site, site_id)
    assert site is not None
    agencies = session.exec(select(Agency).where(Agency.site_id == site_id).order_by(Agency.sort_order)).all()
    services = session.exec(select(Service).where(Service.site_id == site_id).order_by(Service.sort_order)).all()
    counters = session.exec(select(Counter).where(Counter.site_id == site_id).order_by(Counter.number)).all()
    queues: dict[int, ServiceQueue] = service_queues(session, site_id, now)
    current = {
        t.id: t
        for t in session.exec(
            select(Ticket).where(col(Ticket.id).in_([c.current_ticket_id for c in counters if c.current_ticket_id]))
        ).all()
    }
    rules = site_rules(session, site_id)
    return {
        "now": now.isoformat(),
        "site": site_dict(site),
        "rules": {"rating_scale": list(rules.rating_scale), "recall_limit": rules.recall_limit},
        "agencies": [agency_dict(a) for a in agencies],
        "services": [service_dict(s, now) for s in services],
        "queues": [queue_dict(q) for q in queues.values()],
        "counters": [
            counter_dict(
                c,
                list(counter_service_ids(session, c.id or 0)),
                public_ticket(current[c.current_ticket_id]) if c.current_ticket_id in current else None,
            )
            for c in counters
        ],
        "recent_calls": recent_calls(session, site_id, now),
    }
