"""Serving at a counter: call next, recall, start, finish, no-show, transfer, hold and return.

Each use case checks its step against the ticket's life (`transitions.advance`) before changing anything.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from server.domain import errors
from server.domain.counters import counter_changed, counter_of_clerk, current_ticket
from server.domain.events import (
    QueueEvent,
    TicketCalled,
    TicketFinished,
    TicketHeld,
    TicketNoShow,
    TicketRecalled,
    TicketReturned,
    TicketStarted,
    TicketTransferred,
)
from server.domain.issuing import service_by_code
from server.domain.ordering import call_order, counts_toward_streak
from server.domain.outcome import Outcome
from server.domain.queries import candidate, counter_service_ids, site_rules, ticket_view, waiting_tickets
from server.domain.ticket_log import log_event
from server.domain.transitions import Action, advance
from server.domain.vocabulary import CounterStatus, EventKind, TicketStatus
from server.models import Counter, Ticket


def _claim(session: Session, ticket_id: int, values: dict[str, object]) -> bool:
    """Moves a waiting ticket on, only if it is still waiting (row lock skipped by others on PostgreSQL)."""
    locked = session.exec(
        select(Ticket.id)
        .where(Ticket.id == ticket_id, Ticket.status == TicketStatus.WAITING)
        .with_for_update(skip_locked=True)
    ).first()
    if locked is None:
        return False
    result = session.execute(
        update(Ticket).where(col(Ticket.id) == ticket_id, col(Ticket.status) == TicketStatus.WAITING).values(**values)
    )
    return result.rowcount == 1


def _finish(session: Session, ticket: Ticket, counter: Counter, now: datetime, user_id: int) -> TicketFinished:
    """Finishes the citizen at the counter; a service never started is started now (logged as implicit)."""
    ticket.status = advance(Action.FINISH, ticket.status, ticket.display_number)
    if ticket.started_at is None:
        ticket.started_at = now
        log_event(session, ticket, EventKind.STARTED, now, counter.id, user_id, implicit=True)
    ticket.finished_at = now
    session.add(ticket)
    log_event(session, ticket, EventKind.FINISHED, now, counter.id, user_id)
    counter.current_ticket_id = None
    return TicketFinished(site_id=ticket.site_id, at=now, ticket=ticket_view(session, ticket), user_id=user_id)


def call_next(session: Session, now: datetime, counter_id: int, user_id: int) -> Outcome:
    """Call the next citizen to a counter, in the order of `ordering.call_order`. A citizen being served there
    is finished first (one key press); the Outcome has no ticket when that finish happened but nobody waits.

    Raises UnknownCounter (404), WrongCounter (403), CounterPaused (409), CounterNotOpen (409),
    TicketStillCalled (409, the citizen called last has not come yet), NoTicketWaiting (409).
    """
    counter = counter_of_clerk(session, counter_id, user_id)
    if counter.status == CounterStatus.PAUSED:
        raise errors.CounterPaused()
    if counter.status != CounterStatus.OPEN:
        raise errors.CounterNotOpen()
    events: list[QueueEvent] = []
    current = current_ticket(session, counter, required=False)
    if current is not None:
        if current.status == TicketStatus.CALLED:
            raise errors.TicketStillCalled(number=current.display_number)
        events.append(_finish(session, current, counter, now, user_id))
    weights = counter_service_ids(session, counter_id)
    rules = site_rules(session, counter.site_id)
    tickets = {t.id: t for t in waiting_tickets(session, counter.site_id, list(weights), now)}
    order = call_order(
        [candidate(t, weights[t.service_id]) for t in tickets.values()], now, rules, counter.priority_streak
    )
    values = {"status": TicketStatus.CALLED, "counter_id": counter.id, "clerk_id": user_id, "called_at": now}
    for choice in order:
        ticket = tickets[choice.id]
        if not _claim(session, choice.id, {**values, "first_called_at": ticket.first_called_at or now}):
            continue
        session.refresh(ticket)
        counter.current_ticket_id = ticket.id
        counter.priority_streak = counter.priority_streak + 1 if counts_toward_streak(choice, now, rules) else 0
        counter.last_seen_at = now
        wait_seconds = int((now - ticket.queue_since).total_seconds())
        entry = log_event(session, ticket, EventKind.CALLED, now, counter.id, user_id, wait_seconds=wait_seconds)
        call = TicketCalled(
            site_id=ticket.site_id,
            at=now,
            ticket=ticket_view(session, ticket),
            user_id=user_id,
            service_ids=frozenset({ticket.service_id}),
            call_id=f"c{entry.id}",
        )
        events += [call, counter_changed(session, counter, now, user_id)]
        return Outcome(call.ticket, events)
    if events:  # the served ticket is finished even though nobody is left to call
        events.append(counter_changed(session, counter, now, user_id))
        return Outcome(None, events)
    raise errors.NoTicketWaiting()


def _at_counter(session: Session, counter_id: int, user_id: int) -> tuple[Counter, Ticket]:
    """The clerk's counter and the citizen at it. Raises UnknownCounter, WrongCounter, NoCurrentTicket."""
    counter = counter_of_clerk(session, counter_id, user_id)
    ticket = current_ticket(session, counter)
    assert ticket is not None
    return counter, ticket


def recall(session: Session, now: datetime, counter_id: int, user_id: int) -> Outcome:
    """Call the current ticket again. Past the site's `recall_limit` it becomes a no-show instead, when
    `no_show_after_recall_limit` is set (SiteRules).

    Raises UnknownCounter, WrongCounter, NoCurrentTicket (409), InvalidTransition (409, not called).
    """
    counter, ticket = _at_counter(session, counter_id, user_id)
    advance(Action.RECALL, ticket.status, ticket.display_number)
    rules = site_rules(session, counter.site_id)
    if rules.no_show_after_recall_limit and 0 < rules.recall_limit <= ticket.recall_count:
        return no_show(session, now, counter_id, user_id, reason="recall_limit")
    ticket.recall_count += 1
    ticket.called_at = now
    session.add(ticket)
    entry = log_event(session, ticket, EventKind.RECALLED, now, counter.id, user_id, recall_count=ticket.recall_count)
    view = ticket_view(session, ticket)
    recalled = TicketRecalled(site_id=ticket.site_id, at=now, ticket=view, user_id=user_id, call_id=f"c{entry.id}")
    return Outcome(view, [recalled])


def start(session: Session, now: datetime, counter_id: int, user_id: int) -> Outcome:
    """The called citizen is at the desk: service starts. Raises UnknownCounter, WrongCounter,
    NoCurrentTicket, InvalidTransition (409, not called)."""
    counter, ticket = _at_counter(session, counter_id, user_id)
    ticket.status = advance(Action.START, ticket.status, ticket.display_number)
    ticket.started_at = now
    session.add(ticket)
    log_event(session, ticket, EventKind.STARTED, now, counter.id, user_id)
    view = ticket_view(session, ticket)
    return Outcome(view, [TicketStarted(site_id=ticket.site_id, at=now, ticket=view, user_id=user_id)])


def finish(session: Session, now: datetime, counter_id: int, user_id: int) -> Outcome:
    """The service is done. Raises UnknownCounter, WrongCounter, NoCurrentTicket."""
    counter, ticket = _at_counter(session, counter_id, user_id)
    event = _finish(session, ticket, counter, now, user_id)
    return Outcome(event.ticket, [event, counter_changed(session, counter, now, user_id)])


def no_show(session: Session, now: datetime, counter_id: int, user_id: int, reason: str = "clerk") -> Outcome:
    """The called citizen did not come (`reason`: clerk, or recall_limit). Raises UnknownCounter,
    WrongCounter, NoCurrentTicket, InvalidTransition (409, being served)."""
    counter, ticket = _at_counter(session, counter_id, user_id)
    ticket.status = advance(Action.NO_SHOW, ticket.status, ticket.display_number)
    session.add(ticket)
    log_event(session, ticket, EventKind.NO_SHOW, now, counter.id, user_id, reason=reason)
    counter.current_ticket_id = None
    view = ticket_view(session, ticket)
    return Outcome(
        view,
        [
            TicketNoShow(site_id=ticket.site_id, at=now, ticket=view, user_id=user_id),
            counter_changed(session, counter, now, user_id),
        ],
    )


def transfer(session: Session, now: datetime, counter_id: int, user_id: int, service_code: str) -> Outcome:
    """Send the current citizen to another service or agency of the site; they keep their place by original
    time (`queue_since`). Raises UnknownCounter, WrongCounter, NoCurrentTicket, UnknownService (404),
    InvalidTransfer (400, the same service)."""
    counter, ticket = _at_counter(session, counter_id, user_id)
    target = service_by_code(session, counter.site_id, service_code)
    if target.id == ticket.service_id:
        raise errors.InvalidTransfer()
    from_service = ticket.service_id
    ticket.status = advance(Action.TRANSFER, ticket.status, ticket.display_number)
    ticket.service_id = target.id or 0
    ticket.agency_id = target.agency_id
    ticket.counter_id = None
    ticket.transfer_count += 1
    session.add(ticket)
    log_event(
        session,
        ticket,
        EventKind.TRANSFERRED,
        now,
        counter.id,
        user_id,
        from_service_id=from_service,
        to_service_id=target.id,
    )
    counter.current_ticket_id = None
    view = ticket_view(session, ticket)
    moved = TicketTransferred(
        site_id=ticket.site_id,
        at=now,
        ticket=view,
        user_id=user_id,
        service_ids=frozenset({from_service, target.id or 0}),
        from_service_id=from_service,
    )
    return Outcome(view, [moved, counter_changed(session, counter, now, user_id)])


def hold(session: Session, now: datetime, counter_id: int, user_id: int, note: str = "") -> Outcome:
    """Put the current citizen aside (e.g. to fetch a document; `note` ≤ 300 characters); the counter is free
    again. Raises UnknownCounter, WrongCounter, NoCurrentTicket."""
    counter, ticket = _at_counter(session, counter_id, user_id)
    ticket.status = advance(Action.HOLD, ticket.status, ticket.display_number)
    ticket.hold_note = note[:300]
    session.add(ticket)
    log_event(session, ticket, EventKind.HELD, now, counter.id, user_id, note=ticket.hold_note)
    counter.current_ticket_id = None
    view = ticket_view(session, ticket)
    return Outcome(
        view,
        [
            TicketHeld(site_id=ticket.site_id, at=now, ticket=view, user_id=user_id),
            counter_changed(session, counter, now, user_id),
        ],
    )


def return_ticket(session: Session, now: datetime, ticket_id: int, user_id: int) -> Outcome:
    """A held citizen is back: the ticket waits again with its original time (so it comes up soon).

    Raises UnknownTicket (404), WrongCounter (403, the clerk holds no counter of the ticket's site),
    InvalidTransition (409, not held).
    """
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise errors.UnknownTicket()
    counter = session.exec(select(Counter).where(Counter.clerk_id == user_id)).first()
    if counter is None or counter.site_id != ticket.site_id:
        raise errors.WrongCounter()
    ticket.status = advance(Action.RETURN, ticket.status, ticket.display_number)
    session.add(ticket)
    log_event(session, ticket, EventKind.RETURNED, now, counter.id, user_id)
    view = ticket_view(session, ticket)
    returned = TicketReturned(
        site_id=ticket.site_id, at=now, ticket=view, user_id=user_id, service_ids=frozenset({ticket.service_id})
    )
    return Outcome(view, [returned])
