"""Closing past service days: tickets still waiting (or held) when their day ended are cancelled.

Numbers restart every local day and call-next only looks at today's line, so yesterday's waiting and held
tickets can never be called again; closing them leaves every ticket in a final state and lets the
statistics count them (`cancelled` events, reason `day_closed`). A citizen at a counter across midnight
(called or serving) is left alone: the clerk finishes them as usual. The event is dated at the end of
the ticket's own day, so it counts on that day whenever the close runs; `recorded_at` says when it ran.
Safe to run at any time, as often as wanted, from several processes at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from server.clock import local_date, local_midnight
from server.domain.vocabulary import OPEN_STATUSES, EventKind, TicketStatus
from server.models import Ticket, TicketEvent

_LEFT_OPEN = select(Ticket).where(col(Ticket.status).in_(OPEN_STATUSES), Ticket.service_date < bindparam("today"))
_CANCEL = (
    update(Ticket)
    .where(col(Ticket.id) == bindparam("ticket_id"), col(Ticket.status).in_(OPEN_STATUSES))
    .values(status=TicketStatus.CANCELLED)
)


def effective_status(status: str, service_date: date, today: date) -> str:
    """What every reader must say of a ticket: one still waiting or held on a past local day is cancelled from
    00:00 local, whether or not `close_past_days` has written it yet."""
    if status in OPEN_STATUSES and service_date < today:
        return TicketStatus.CANCELLED
    return status


@dataclass(frozen=True)
class DayClose:
    """What one close did: tickets cancelled per previous status."""

    cancelled: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.cancelled.values())


def close_past_days(session: Session, now: datetime, limit: int = 5000) -> DayClose:
    """Cancels up to `limit` tickets of days before today (local) that are still open."""
    cancelled: dict[str, int] = {}
    for ticket in session.exec(_LEFT_OPEN.limit(limit), params={"today": local_date(now)}).all():
        previous = ticket.status
        if session.connection().execute(_CANCEL, {"ticket_id": ticket.id}).rowcount != 1:
            continue  # another process closed it first
        session.add(
            TicketEvent(
                ticket_id=ticket.id or 0,
                site_id=ticket.site_id,
                kind=EventKind.CANCELLED,
                at=min(local_midnight(ticket.service_date + timedelta(days=1)) - timedelta(seconds=1), now),
                service_id=ticket.service_id,
                agency_id=ticket.agency_id,
                counter_id=ticket.counter_id,
                data={"reason": "day_closed", "previous_status": previous, "recorded_at": now.isoformat()},
            )
        )
        cancelled[previous] = cancelled.get(previous, 0) + 1
    return DayClose(cancelled)
