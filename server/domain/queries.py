"""Read-side helpers shared by the use cases, the API and the snapshots."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func
from sqlalchemy.sql import Executable
from sqlmodel import Session, col, select

from server.clock import local_date, local_midnight
from server.domain.estimates import (
    minutes_per_place,
    pool_waits,
    residual_minutes,
    typical_service_minutes,
)
from server.domain.ordering import Candidate, call_order
from server.domain.readmodels import CounterView, ServiceQueue, TicketView
from server.domain.rules import SiteRules
from server.domain.vocabulary import AT_COUNTER, CALL_KINDS, CounterStatus, TicketStatus
from server.models import Counter, CounterService, Service, Site, Ticket, TicketEvent

# The queue figures are read on every issue and every call: their statements are built once here, with
# bound parameters, so each read costs the query and not the building of the query (5x on this path).


def _rows(session: Session, statement: Executable, **params: Any) -> list:
    """Rows of a prebuilt Core statement on the session's connection (its transaction, if any)."""
    return list(session.connection().execute(statement, params).all())


def _ids(name: str) -> Any:
    return bindparam(name, expanding=True)


_SITE_SETTINGS = select(Site.settings).where(Site.id == bindparam("site_id"))


def site_rules(session: Session, site_id: int) -> SiteRules:
    rows = _rows(session, _SITE_SETTINGS, site_id=site_id)
    return SiteRules.from_settings(rows[0][0] if rows else {})


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
        Ticket.status == TicketStatus.WAITING,
        Ticket.service_date == local_date(now),
    )
    return list(session.exec(statement).all())


_WAITING_ROWS = select(Ticket.id, Ticket.service_id, Ticket.priority, Ticket.queue_since, Ticket.appointment_at).where(
    Ticket.site_id == bindparam("site_id"),
    col(Ticket.service_id).in_(_ids("service_ids")),
    Ticket.status == TicketStatus.WAITING,
    Ticket.service_date == bindparam("day"),
)


def waiting_rows(session: Session, site_id: int, service_ids: list[int], now: datetime) -> list:
    """Today's waiting tickets as light rows (id, service_id, priority, queue_since, appointment_at): the
    queue figures need no ORM objects, and building them dominated the cost of every issue."""
    if not service_ids:
        return []
    return _rows(session, _WAITING_ROWS, site_id=site_id, service_ids=list(service_ids), day=local_date(now))


def _last_called_statement(by_service: bool) -> Executable:
    where = [
        TicketEvent.site_id == bindparam("site_id"),
        col(TicketEvent.kind).in_(CALL_KINDS),
        TicketEvent.at >= bindparam("since"),
    ]
    if by_service:
        where.append(col(TicketEvent.service_id).in_(_ids("service_ids")))
    latest = (
        select(TicketEvent.service_id, func.max(TicketEvent.id).label("event_id"))
        .where(*where)
        .group_by(TicketEvent.service_id)
        .subquery()
    )
    return (
        select(latest.c.service_id, Ticket.display_number)
        .join(TicketEvent, col(TicketEvent.id) == latest.c.event_id)
        .join(Ticket, col(Ticket.id) == TicketEvent.ticket_id)
    )


_LAST_CALLED = {False: _last_called_statement(False), True: _last_called_statement(True)}


def last_called_numbers(
    session: Session, site_id: int, now: datetime, service_ids: list[int] | None = None
) -> dict[int, str]:
    """The display number most recently called (or recalled) per service today (of `service_ids` if given)."""
    params: dict[str, Any] = {"site_id": site_id, "since": local_midnight(local_date(now))}
    if service_ids is not None:
        if not service_ids:
            return {}
        params["service_ids"] = list(service_ids)
    return dict(_rows(session, _LAST_CALLED[service_ids is not None], **params))


_RANKED_FINISHES = (  # time a counter is taken per citizen: from the (last) call, walking to the desk included
    select(
        Ticket.service_id,
        func.coalesce(Ticket.called_at, Ticket.started_at).label("started_at"),
        Ticket.finished_at,
        func.row_number().over(partition_by=Ticket.service_id, order_by=col(Ticket.finished_at).desc()).label("rank"),
    )
    .where(
        col(Ticket.service_id).in_(_ids("service_ids")),
        Ticket.status == TicketStatus.DONE,
        Ticket.service_date == bindparam("day"),
        col(Ticket.started_at).is_not(None),
    )
    .subquery()
)
_RECENT_FINISHES = select(
    _RANKED_FINISHES.c.service_id, _RANKED_FINISHES.c.started_at, _RANKED_FINISHES.c.finished_at
).where(_RANKED_FINISHES.c.rank <= bindparam("limit"))


def recent_minutes_by_service(
    session: Session, service_ids: list[int], now: datetime, limit: int = 20
) -> dict[int, list[float]]:
    """Minutes from call to finish of the latest `limit` finished citizens of each service, in one query."""
    if not service_ids:
        return {}
    rows = _rows(session, _RECENT_FINISHES, service_ids=list(service_ids), day=local_date(now), limit=limit)
    minutes: dict[int, list[float]] = defaultdict(list)
    for service_id, start, end in rows:
        if start is not None and end is not None:
            minutes[service_id].append((end - start).total_seconds() / 60)
    return minutes


@dataclass
class _Staffing:
    """Which counters serve which services at a site, which are open, and whom they are busy with."""

    services_of: dict[int, set[int]]  # counter id → service ids
    counters_of: dict[int, set[int]]  # service id → counter ids
    open: set[int]
    current: dict[int, int]  # counter id → current ticket id

    def pool(self, service_id: int) -> frozenset[int]:
        """The counters that will call this service's tickets: the open ones, else all that serve it."""
        counters = self.counters_of.get(service_id, set())
        return frozenset(counters & self.open or counters)

    def pool_services(self, pool: frozenset[int], service_id: int) -> set[int]:
        services = {service_id}
        for counter_id in pool:
            services |= self.services_of[counter_id]
        return services


_STAFFING = (
    select(CounterService.counter_id, CounterService.service_id, Counter.status, Counter.current_ticket_id)
    .join(Counter, col(Counter.id) == CounterService.counter_id)
    .where(Counter.site_id == bindparam("site_id"))
)


def _staffing(session: Session, site_id: int) -> _Staffing:
    rows = _rows(session, _STAFFING, site_id=site_id)
    staffing = _Staffing(defaultdict(set), defaultdict(set), set(), {})
    for counter_id, service_id, status, current in rows:
        staffing.services_of[counter_id].add(service_id)
        staffing.counters_of[service_id].add(counter_id)
        if status == CounterStatus.OPEN:
            staffing.open.add(counter_id)
            if current:
                staffing.current[counter_id] = current
    return staffing


_SITE_SERVICES = select(Service.id, Service.agency_id, Service.default_service_minutes).where(
    Service.site_id == bindparam("site_id")
)
_LINKED_SERVICES = _SITE_SERVICES.where(col(Service.id).in_(_ids("service_ids")))


def service_queues(
    session: Session, site_id: int, now: datetime, service_ids: list[int] | None = None
) -> dict[int, ServiceQueue]:
    """Waiting counts, call order and estimates per service of a site.

    Estimates follow the counters, not just the service: a ticket waits for every ticket ahead of it in
    the line of the counters that serve its service (those counters also call other services), and for
    the citizens those counters are busy with now (pool_waits).
    """
    session.flush()  # the reads below go straight to the connection
    staffing = _staffing(session, site_id)
    if service_ids is not None:
        linked = set(service_ids)
        for sid in service_ids:
            linked |= staffing.pool_services(staffing.pool(sid), sid)
        rows = _rows(session, _LINKED_SERVICES, site_id=site_id, service_ids=sorted(linked))
    else:
        rows = _rows(session, _SITE_SERVICES, site_id=site_id)
    all_services = {row.id: row for row in rows}
    wanted = [sid for sid in all_services if service_ids is None or sid in service_ids]
    pools = {sid: staffing.pool(sid) for sid in wanted}
    needed = set(wanted)
    for sid, pool in pools.items():
        needed |= staffing.pool_services(pool, sid)
    rules = site_rules(session, site_id)
    by_service: dict[int, list] = defaultdict(list)
    for ticket in waiting_rows(session, site_id, sorted(needed), now):
        by_service[ticket.service_id].append(ticket)
    recent = recent_minutes_by_service(session, sorted(needed), now)
    typical = {
        sid: typical_service_minutes(recent.get(sid, []), all_services[sid].default_service_minutes)
        for sid in needed
        if sid in all_services
    }
    busy = _busy_minutes(session, staffing, typical, now)
    called = last_called_numbers(session, site_id, now, None if service_ids is None else wanted)
    pool_results: dict[tuple[frozenset[int], frozenset[int]], tuple[dict[int, float], float]] = {}
    result: dict[int, ServiceQueue] = {}
    for sid in wanted:
        tickets = by_service.get(sid, [])
        order = tuple(c.id for c in call_order([candidate(t) for t in tickets], now, rules))
        pool = pools[sid]
        services = frozenset(staffing.pool_services(pool, sid))
        if (pool, services) not in pool_results:
            line = [t for s in services for t in by_service.get(s, [])]
            line_order = call_order([candidate(t) for t in line], now, rules)
            service_of = {t.id: t.service_id for t in line}
            waits, next_wait = pool_waits(
                [busy.get(c, 0.0) for c in pool], [typical.get(service_of[c.id], 6.0) for c in line_order]
            )
            pool_results[(pool, services)] = ({c.id: w for c, w in zip(line_order, waits, strict=True)}, next_wait)
        waits_by_ticket, next_wait = pool_results[(pool, services)]
        minutes = typical.get(sid, all_services[sid].default_service_minutes)
        counters = len(pool & staffing.open)
        longest = max(((now - t.queue_since).total_seconds() for t in tickets), default=0)
        result[sid] = ServiceQueue(
            service_id=sid,
            agency_id=all_services[sid].agency_id,
            waiting=len(tickets),
            order=order,
            open_counters=counters,
            service_minutes=round(minutes, 2),
            minutes_per_place=round(minutes_per_place(minutes, counters), 2),
            estimated_wait_minutes=math.ceil(next_wait - 1e-9),
            longest_wait_seconds=int(longest),
            last_called=called.get(sid),
            estimates=tuple(math.ceil(waits_by_ticket.get(tid, 0.0) - 1e-9) for tid in order),
        )
    return result


_BUSY_TICKETS = select(Ticket.id, Ticket.service_id, Ticket.status, Ticket.called_at, Ticket.started_at).where(
    col(Ticket.id).in_(_ids("ticket_ids")), col(Ticket.status).in_(AT_COUNTER)
)


def _busy_minutes(session: Session, staffing: _Staffing, typical: dict[int, float], now: datetime) -> dict[int, float]:
    """Expected minutes until each open counter with a citizen is free again."""
    if not staffing.current:
        return {}
    rows = _rows(session, _BUSY_TICKETS, ticket_ids=list(staffing.current.values()))
    tickets = {row[0]: row for row in rows}
    busy: dict[int, float] = {}
    for counter_id, ticket_id in staffing.current.items():
        if ticket_id in tickets:
            _id, service_id, _status, called_at, started_at = tickets[ticket_id]
            since = called_at or started_at or now
            busy[counter_id] = residual_minutes(typical.get(service_id, 6.0), (now - since).total_seconds() / 60)
    return busy
