"""Closing past service days: tickets still waiting (or held) when their day ended are cancelled.

Numbers restart every local day and call-next only looks at today's line, so yesterday's waiting and held
tickets can never be called again; closing them leaves every ticket in a final state and lets the
statistics count them (`cancelled` events, reason `day_closed`). A citizen at a counter across midnight
(called or serving) is left alone: the clerk finishes them as usual. The event is dated at the end of
the ticket's own day, so it counts on that day whenever the close runs; `recorded_at` says when it ran.
Safe to run at any time, as often as wanted, from several processes at once.

A roll-up of a day (server.stats.rollup) counts these events, so the two must agree whatever runs first: a
roll-up closes its own day first (`close_day`), and `DayClose.site_days` names the (day, site) pairs a close
changed, so that a roll-up made before it is made again (server.stats.rollup.close_past_days_rolled).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from server.clock import local_date, local_midnight
from server.domain.vocabulary import OPEN_STATUSES, EventKind, TicketStatus
from server.models import Ticket, TicketEvent

_LEFT_OPEN = select(Ticket).where(col(Ticket.status).in_(OPEN_STATUSES), Ticket.service_date < bindparam("today"))
_LEFT_OPEN_ON = select(Ticket).where(
    Ticket.service_date == bindparam("day"),
    Ticket.site_id == bindparam("site_id"),
    col(Ticket.status).in_(OPEN_STATUSES),
)
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
    """What one close did: tickets cancelled per previous status, and the (local day, site id) pairs whose
    figures changed (each cancellation counts on its ticket's own day)."""

    cancelled: dict[str, int]
    site_days: frozenset[tuple[date, int]] = frozenset()

    @property
    def total(self) -> int:
        return sum(self.cancelled.values())


def close_past_days(session: Session, now: datetime, limit: int = 5000) -> DayClose:
    """Cancels up to `limit` tickets of days before today (local) that are still open."""
    return _cancel(session, now, session.exec(_LEFT_OPEN.limit(limit), params={"today": local_date(now)}).all())


def close_day(session: Session, now: datetime, day: date, site_id: int) -> DayClose:
    """Cancels the tickets of one site's local `day` still open, as `close_past_days` would, if that day is
    over (nothing for today or later): what a roll-up of the day does first."""
    if day >= local_date(now):
        return DayClose({})
    return _cancel(session, now, session.exec(_LEFT_OPEN_ON, params={"day": day, "site_id": site_id}).all())


def _cancel(session: Session, now: datetime, tickets: Sequence[Ticket]) -> DayClose:
    """Cancels each of `tickets` still open (another process may have closed it first), logging a `cancelled`
    event dated at the end of its own day."""
    cancelled: dict[str, int] = {}
    site_days: set[tuple[date, int]] = set()
    for ticket in tickets:
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
        site_days.add((ticket.service_date, ticket.site_id))
    return DayClose(cancelled, frozenset(site_days))
