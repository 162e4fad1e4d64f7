"""Read-side helpers shared by the use cases, the API and the snapshots."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func
from sqlalchemy.sql import ColumnElement, Executable
from sqlmodel import Session, col, select

from server.clock import local_date, local_midnight
from server.domain.ordering import Candidate
from server.domain.prepared import Prepared
from server.domain.readmodels import CounterView, TicketView
from server.domain.rules import SiteRules
from server.domain.vocabulary import CALL_KINDS, TicketStatus
from server.models import Counter, CounterService, Holiday, Site, Ticket, TicketEvent

# The queue figures are read on every issue and every call: their statements are built once here, with
# bound parameters, so each read costs the query and not the building of the query (5x on this path).


def _rows(session: Session, statement: Executable, **params: Any) -> list:
    """Rows of a prebuilt Core statement on the session's connection (its transaction, if any)."""
    return list(session.connection().execute(statement, params).all())


def _ids(name: str) -> Any:
    return bindparam(name, expanding=True)


_SITE_SETTINGS = Prepared(select(Site.settings).where(Site.id == bindparam("site_id")))
_HOLIDAYS = Prepared(select(col(Holiday.day)).where(Holiday.site_id == bindparam("site_id")))


def site_rules(session: Session, site_id: int) -> SiteRules:
    """The site's rules, its calendar (the `holiday` table, kept in the administration's month calendar) folded
    into `holidays` with any dates of the settings. Both reads are prebuilt statements (`prepared`): every issue
    reads them."""
    connection = session.connection()
    row = _SITE_SETTINGS.first(connection, {"site_id": site_id})
    closed = [holiday.day.isoformat() for holiday in _HOLIDAYS.all(connection, {"site_id": site_id})]
    return SiteRules.from_settings(row.settings if row is not None else None, closed)


def ticket_view(session: Session, ticket: Ticket, counter_numbers: dict[int | None, int] | None = None) -> TicketView:
    """The ticket as the outside world may know it; `counter_numbers` (counter id → number) saves a read."""
    if counter_numbers is not None and ticket.counter_id in counter_numbers:
        counter_number: int | None = counter_numbers[ticket.counter_id]
    else:
        counter = session.get(Counter, ticket.counter_id) if ticket.counter_id else None
        counter_number = counter.number if counter else None
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
        counter_number=counter_number,
        recall_count=ticket.recall_count,
        service_date=ticket.service_date.isoformat(),
        appointment_at=ticket.appointment_at,
        transfer_count=ticket.transfer_count,
        called_at=ticket.called_at,
        started_at=ticket.started_at,
        finished_at=ticket.finished_at,
        channel=ticket.channel,
        hold_note=ticket.hold_note,
    )


def counter_service_ids(session: Session, counter_id: int) -> dict[int, int]:
    rows = session.exec(select(CounterService).where(CounterService.counter_id == counter_id)).all()
    return {row.service_id: row.weight for row in rows}


def counter_view(session: Session, counter: Counter, weights: dict[int, int] | None = None) -> CounterView:
    """The counter as the hall may know it (`weights`: its services' weights, read when not given)."""
    weights = counter_service_ids(session, counter.id or 0) if weights is None else weights
    return CounterView(
        id=counter.id or 0,
        site_id=counter.site_id,
        number=counter.number,
        name=counter.name,
        status=counter.status,
        pause_reason=counter.pause_reason,
        clerk_id=counter.clerk_id,
        current_ticket_id=counter.current_ticket_id,
        service_ids=tuple(sorted(weights)),
        weights=tuple(sorted(weights.items())),
        priority_streak=counter.priority_streak,
        floor=counter.floor,
    )


def candidate(ticket: Ticket, weight: int = 1) -> Candidate:
    return Candidate(
        id=ticket.id or 0,
        priority=ticket.priority,
        queue_since=ticket.queue_since,
        appointment_at=ticket.appointment_at,
        weight=weight,
        transferred=ticket.transfer_count > 0,
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


def _last_called_statement(by_service: bool) -> Executable:
    where: list[ColumnElement[bool]] = [
        col(TicketEvent.site_id) == bindparam("site_id"),
        col(TicketEvent.kind).in_(CALL_KINDS),
        col(TicketEvent.at) >= bindparam("since"),
    ]
    if by_service:
        where.append(col(TicketEvent.service_id).in_(_ids("service_ids")))
    latest = (
        select(TicketEvent.service_id, func.max(TicketEvent.id).label("event_id"))
        .where(*where)
        .group_by(col(TicketEvent.service_id))
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
        func.row_number()
        .over(partition_by=col(Ticket.service_id), order_by=col(Ticket.finished_at).desc())
        .label("rank"),
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
