"""Read-side helpers shared by the use cases, the API and the snapshots."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from server.clock import local_date, local_midnight
from server.domain.estimates import estimated_wait_minutes, minutes_per_place, typical_service_minutes
from server.domain.events import CounterView, TicketView
from server.domain.ordering import Candidate, call_order
from server.domain.rules import SiteRules
from server.models import Counter, CounterService, Service, Site, Ticket, TicketEvent

WAITING = "waiting"
ACTIVE_STATUSES = ("called", "serving")


def site_rules(session: Session, site_id: int) -> SiteRules:
    site = session.get(Site, site_id)
    return SiteRules.from_settings(site.settings if site else {})


def ticket_view(session: Session, ticket: Ticket) -> TicketView:
    counter = session.get(Counter, ticket.counter_id) if ticket.counter_id else None
    return TicketView(
        id=ticket.id or 0,
        site_id=ticket.site_id,
        service_id=ticket.service_id,
        agency_id=ticket.agency_id,
        number=ticket.number,
        display_number=ticket.display_number,
        status=ticket.status,
        priority=ticket.priority,
        tracking_token=ticket.tracking_token,
        issued_at=ticket.issued_at,
        queue_since=ticket.queue_since,
        counter_id=ticket.counter_id,
        counter_number=counter.number if counter else None,
        recall_count=ticket.recall_count,
        service_date=ticket.service_date.isoformat(),
    )


def counter_service_ids(session: Session, counter_id: int) -> dict[int, int]:
    rows = session.exec(select(CounterService).where(CounterService.counter_id == counter_id)).all()
    return {row.service_id: row.weight for row in rows}


def counter_view(session: Session, counter: Counter) -> CounterView:
    return CounterView(
        id=counter.id or 0,
        site_id=counter.site_id,
        number=counter.number,
        name=counter.name,
        status=counter.status,
        pause_reason=counter.pause_reason,
        clerk_id=counter.clerk_id,
        current_ticket_id=counter.current_ticket_id,
        service_ids=tuple(sorted(counter_service_ids(session, counter.id or 0))),
    )


def candidate(ticket: Ticket, weight: int = 1) -> Candidate:
    return Candidate(
        id=ticket.id or 0,
        priority=ticket.priority,
        queue_since=ticket.queue_since,
        appointment_at=ticket.appointment_at,
        weight=weight,
    )


def waiting_tickets(session: Session, site_id: int, service_ids: list[int], now: datetime) -> list[Ticket]:
    if not service_ids:
        return []
    statement = select(Ticket).where(
        Ticket.site_id == site_id,
        col(Ticket.service_id).in_(service_ids),
        Ticket.status == WAITING,
        Ticket.service_date == local_date(now),
    )
    return list(session.exec(statement).all())


@dataclass(frozen=True)
class ServiceQueue:
    """The live state of one service's line."""

    service_id: int
    agency_id: int
    waiting: int
    order: tuple[int, ...]  # waiting ticket ids in call order
    open_counters: int
    service_minutes: float
    minutes_per_place: float
    estimated_wait_minutes: int  # for a ticket issued now
    longest_wait_seconds: int
    last_called: str | None = None  # display number most recently called today

    def ahead_of(self, ticket_id: int) -> int:
        return self.order.index(ticket_id) if ticket_id in self.order else 0

    def estimate_for(self, ticket_id: int) -> int:
        return estimated_wait_minutes(self.ahead_of(ticket_id), self.service_minutes, self.open_counters)


def open_counter_counts(session: Session, site_id: int) -> dict[int, int]:
    """Open (not paused, not closed) counters per service."""
    statement = (
        select(CounterService.service_id, Counter.id)
        .join(Counter, col(Counter.id) == CounterService.counter_id)
        .where(Counter.site_id == site_id, Counter.status == "open")
    )
    counts: dict[int, int] = defaultdict(int)
    for service_id, _counter_id in session.exec(statement).all():
        counts[service_id] += 1
    return counts


def recent_service_minutes(session: Session, service_id: int, now: datetime, limit: int = 20) -> list[float]:
    statement = (
        select(Ticket.started_at, Ticket.finished_at)
        .where(
            Ticket.service_id == service_id,
            Ticket.status == "done",
            Ticket.service_date == local_date(now),
            col(Ticket.started_at).is_not(None),
        )
        .order_by(col(Ticket.finished_at).desc())
        .limit(limit)
    )
    return [(end - start).total_seconds() / 60 for start, end in session.exec(statement).all() if end]


def last_called_numbers(session: Session, site_id: int, now: datetime) -> dict[int, str]:
    """The display number most recently called (or recalled) per service today."""
    latest = (
        select(TicketEvent.service_id, func.max(TicketEvent.id).label("event_id"))
        .where(TicketEvent.site_id == site_id, col(TicketEvent.kind).in_(["called", "recalled"]),
               TicketEvent.at >= local_midnight(local_date(now)))
        .group_by(TicketEvent.service_id)
        .subquery()
    )
    rows = session.exec(
        select(latest.c.service_id, Ticket.display_number)
        .join(TicketEvent, col(TicketEvent.id) == latest.c.event_id)
        .join(Ticket, col(Ticket.id) == TicketEvent.ticket_id)
    ).all()
    return dict(rows)


def service_queues(
    session: Session, site_id: int, now: datetime, service_ids: list[int] | None = None
) -> dict[int, ServiceQueue]:
    """Waiting counts, call order and estimates per service of a site."""
    services_q = select(Service).where(Service.site_id == site_id)
    if service_ids is not None:
        services_q = services_q.where(col(Service.id).in_(service_ids))
    services = list(session.exec(services_q).all())
    rules = site_rules(session, site_id)
    ids = [s.id for s in services if s.id is not None]
    by_service: dict[int, list[Ticket]] = defaultdict(list)
    for ticket in waiting_tickets(session, site_id, ids, now):
        by_service[ticket.service_id].append(ticket)
    open_counts = open_counter_counts(session, site_id)
    called = last_called_numbers(session, site_id, now)
    result: dict[int, ServiceQueue] = {}
    for service in services:
        sid = service.id or 0
        tickets = by_service.get(sid, [])
        order = tuple(c.id for c in call_order([candidate(t) for t in tickets], now, rules))
        minutes = typical_service_minutes(
            recent_service_minutes(session, sid, now), service.default_service_minutes
        )
        counters = open_counts.get(sid, 0)
        longest = max(((now - t.queue_since).total_seconds() for t in tickets), default=0)
        result[sid] = ServiceQueue(
            service_id=sid,
            agency_id=service.agency_id,
            waiting=len(tickets),
            order=order,
            open_counters=counters,
            service_minutes=round(minutes, 2),
            minutes_per_place=round(minutes_per_place(minutes, counters), 2),
            estimated_wait_minutes=estimated_wait_minutes(len(tickets), minutes, counters),
            longest_wait_seconds=int(longest),
            last_called=called.get(sid),
        )
    return result
