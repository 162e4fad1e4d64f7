"""Counter sessions: a clerk opens (takes) a counter, pauses, resumes and closes it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlmodel import Session, select

from server.domain import errors
from server.domain.events import CounterChanged
from server.domain.outcome import Outcome
from server.domain.queries import counter_view, site_rules
from server.domain.vocabulary import AT_COUNTER, CounterEventKind, CounterStatus
from server.models import Counter, CounterEvent, Ticket, User

_C = TypeVar("_C", bound=Any)  # a Counter, or a counter row's record (server/domain/rows.py)


def counter_of_clerk(session: Session, counter_id: int, user_id: int) -> Counter:
    """The counter, if `user_id` holds it. Raises UnknownCounter (404) or WrongCounter (403)."""
    return held_by(session.get(Counter, counter_id), user_id)


def held_by(counter: _C | None, user_id: int) -> _C:
    """`counter` (a model object or a row record) if it exists and `user_id` holds it. Raises UnknownCounter (404)
    or WrongCounter (403)."""
    if counter is None:
        raise errors.UnknownCounter()
    if counter.clerk_id != user_id:
        raise errors.WrongCounter()
    return counter


def current_ticket(session: Session, counter: Counter, required: bool = True) -> Ticket | None:
    """The citizen at the counter (called or being served). Raises NoCurrentTicket (409) if `required`."""
    ticket = session.get(Ticket, counter.current_ticket_id) if counter.current_ticket_id else None
    if ticket is not None and ticket.status not in AT_COUNTER:
        ticket = None
    if ticket is None and required:
        raise errors.NoCurrentTicket()
    return ticket


def log_counter(
    session: Session, counter: Counter, kind: CounterEventKind, now: datetime, user_id: int | None, **data: object
) -> None:
    session.add(
        CounterEvent(
            counter_id=counter.id or 0, site_id=counter.site_id, kind=kind, at=now, user_id=user_id, data=dict(data)
        )
    )


def counter_changed(
    session: Session, counter: Counter, now: datetime, user_id: int | None, weights: dict[int, int] | None = None
) -> CounterChanged:
    """Saves the counter and says so (the event carries the counter as it now is); `weights` (service → weight,
    as the line in memory knows them) saves reading them again."""
    session.add(counter)
    session.flush()
    view = counter_view(session, counter, weights)
    return CounterChanged(
        site_id=counter.site_id, at=now, counter=view, user_id=user_id, service_ids=frozenset(view.service_ids)
    )


def open_counter(session: Session, now: datetime, counter_id: int, user_id: int, *, takeover: bool = False) -> Outcome:
    """A clerk takes a counter of their own site. One clerk holds one counter; taking over a counter another
    clerk holds needs `takeover` (logged as `taken_over`).

    Raises UnknownCounter (404), WrongCounter (403, another site), CounterNotAllowed (403, the site keeps the
    counter for other clerks: SiteRules.counter_clerks), ClerkHasCounter (409), CounterTaken (409, held by another
    clerk and no takeover asked).
    """
    counter = session.get(Counter, counter_id)
    if counter is None:
        raise errors.UnknownCounter()
    clerk = session.get(User, user_id)
    if clerk is None or clerk.site_id not in (None, counter.site_id):
        raise errors.WrongCounter()
    if not site_rules(session, counter.site_id).may_open(counter.number, clerk.username, clerk.role):
        raise errors.CounterNotAllowed(counter=counter.number)
    held = session.exec(select(Counter).where(Counter.clerk_id == user_id)).first()
    if held is not None and held.id != counter.id:
        raise errors.ClerkHasCounter(counter=held.number)
    if counter.clerk_id not in (None, user_id):
        if not takeover:
            raise errors.CounterTaken(counter=counter.number)
        log_counter(session, counter, CounterEventKind.TAKEN_OVER, now, user_id, previous_clerk_id=counter.clerk_id)
    counter.clerk_id = user_id
    if counter.status == CounterStatus.CLOSED:
        counter.status = CounterStatus.OPEN
    counter.last_seen_at = now
    log_counter(session, counter, CounterEventKind.OPENED, now, user_id)
    return Outcome(events=[counter_changed(session, counter, now, user_id)])


def close_counter(session: Session, now: datetime, counter_id: int, user_id: int) -> Outcome:
    """The clerk leaves the counter. Raises UnknownCounter, WrongCounter, and CitizenAtCounter (409) while a
    citizen is called or served there."""
    counter = counter_of_clerk(session, counter_id, user_id)
    current = current_ticket(session, counter, required=False)
    if current is not None:
        raise errors.CitizenAtCounter(number=current.display_number)
    counter.clerk_id = None
    counter.status = CounterStatus.CLOSED
    counter.current_ticket_id = None
    counter.pause_reason = ""
    log_counter(session, counter, CounterEventKind.CLOSED, now, user_id)
    return Outcome(events=[counter_changed(session, counter, now, user_id)])


def pause_counter(session: Session, now: datetime, counter_id: int, user_id: int, reason: str = "") -> Outcome:
    """The counter stops calling (a break); `reason` (≤ 200 characters) is for staff. Raises UnknownCounter,
    WrongCounter."""
    counter = counter_of_clerk(session, counter_id, user_id)
    counter.status = CounterStatus.PAUSED
    counter.pause_reason = reason[:200]
    log_counter(session, counter, CounterEventKind.PAUSED, now, user_id, reason=counter.pause_reason)
    return Outcome(events=[counter_changed(session, counter, now, user_id)])


def resume_counter(session: Session, now: datetime, counter_id: int, user_id: int) -> Outcome:
    """The counter calls again. Raises UnknownCounter, WrongCounter."""
    counter = counter_of_clerk(session, counter_id, user_id)
    counter.status = CounterStatus.OPEN
    counter.pause_reason = ""
    log_counter(session, counter, CounterEventKind.RESUMED, now, user_id)
    return Outcome(events=[counter_changed(session, counter, now, user_id)])
