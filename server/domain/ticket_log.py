"""Appending to the ticket event log (`ticketevent`), the one source of every statistic."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from server.domain.vocabulary import EventKind
from server.models import Ticket, TicketEvent


def log_event(
    session: Session,
    ticket: Ticket,
    kind: EventKind,
    now: datetime,
    counter_id: int | None = None,
    user_id: int | None = None,
    flush: bool = True,
    **data: object,
) -> TicketEvent:
    """Appends one entry for `ticket` (its site, service and agency as they are now); `flush` gives the entry
    its id at once (calls need it for their call id)."""
    entry = TicketEvent(
        ticket_id=ticket.id or 0,
        site_id=ticket.site_id,
        kind=kind,
        at=now,
        service_id=ticket.service_id,
        agency_id=ticket.agency_id,
        counter_id=counter_id,
        user_id=user_id,
        data=dict(data),
    )
    session.add(entry)
    if flush:
        session.flush()
    return entry
