"""Serving at a counter: call next, recall, start, finish, no-show, transfer, hold and return.

Each use case checks its step against the ticket's life (`transitions.advance`) before changing anything.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from types import SimpleNamespace

from sqlalchemy import Connection
from sqlmodel import Session, select

from server.clock import local_date
from server.domain import errors, rows
from server.domain.counters import counter_changed, counter_of_clerk, current_ticket, held_by
from server.domain.dossiers import add_codes
from server.domain.events import (
    CounterChanged,
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
from server.domain.line import LineSource
from server.domain.ordering import Candidate, call_order, counts_toward_streak
from server.domain.outcome import Outcome
from server.domain.queries import (
    candidate,
    counter_service_ids,
    counter_view,
    site_rules,
    ticket_view,
    waiting_tickets,
)
from server.domain.ticket_log import log_event
from server.domain.transitions import Action, advance
from server.domain.vocabulary import AT_COUNTER, CounterStatus, EventKind, TicketStatus
from server.models import Counter, Ticket


def _finish(session: Session, ticket: Ticket, counter: Counter, now: datetime, user_id: int) -> TicketFinished:
    """Finishes the citizen at the counter. A service never started is logged as started now (`implicit`: the
    statistics date it at the last call, `stats.compute`), and `started_at` is that last call, so the ticket's
    own times (the one-stop export, the clerk's figures) say the same service time."""
    ticket.status = advance(Action.FINISH, ticket.status, ticket.display_number)
    if ticket.started_at is None:  # Start was not pressed: the service began at the (last) call
        ticket.started_at = ticket.called_at or now
        log_event(session, ticket, EventKind.STARTED, now, counter.id, user_id, flush=False, implicit=True)
    ticket.finished_at = now  # (the acting clerk is already the ticket's: `_at_counter`)
    session.add(ticket)
    log_event(session, ticket, EventKind.FINISHED, now, counter.id, user_id, flush=False)  # no id needed: one flush
    counter.current_ticket_id = None
    return TicketFinished(site_id=ticket.site_id, at=now, ticket=ticket_view(session, ticket), user_id=user_id)


def call_next(
    session: Session, now: datetime, counter_id: int, user_id: int, *, lines: LineSource | None = None
) -> Outcome:
    """Call the next citizen to a counter, in the order of `ordering.call_order`. A citizen being served there
    is finished first (one key press); the Outcome has no ticket when that finish happened but nobody waits.

    With `lines` the candidates come from the site's line in memory (O(log n) per pick); without, from the
    database. Either way the claim is a conditional UPDATE, so two counters never get the same ticket. Reads and
    writes are prebuilt statements on the transaction's connection (`server.domain.rows`), not ORM flushes: this
    runs on every clerk's key press (issue 13).

    Raises UnknownCounter (404), WrongCounter (403), CounterPaused (409), CounterNotOpen (409),
    TicketStillCalled (409, the citizen called last has not come yet), NoTicketWaiting (409).
    """
    connection = session.connection()
    counter, current = counter_at_hand(session, counter_id, user_id)
    if counter.status == CounterStatus.PAUSED:
        raise errors.CounterPaused()
    if counter.status != CounterStatus.OPEN:
        raise errors.CounterNotOpen()
    events: list[QueueEvent] = []
    logged = rows.EventBatch()  # the finish's events and the call's, appended in one statement
    line = lines.site(counter.site_id, now) if lines is not None else None
    numbers = {counter.id: counter.number}
    touched = {current.id} if current is not None else set()
    if current is not None:
        if current.status == TicketStatus.CALLED:
            raise errors.TicketStillCalled(number=current.display_number)
        events.append(_finish_row(session, connection, logged, current, counter, now, user_id, numbers))
    rules = line.rules if line is not None else site_rules(session, counter.site_id)  # the line keeps the site's
    if line is not None and counter.id in line.counters:
        weights = dict(line.counters[counter.id].weights)
    else:
        weights = counter_service_ids(session, counter.id)
    choices = _line_choices(lines, counter, now) if lines is not None else _database_choices(session, counter, now)
    try:
        for choice in choices:
            ticket = rows.claim(connection, choice.id, counter.id, user_id, now)
            if ticket is None:
                continue
            touched.add(ticket.id)
            counter.current_ticket_id = ticket.id
            counter.priority_streak = counter.priority_streak + 1 if counts_toward_streak(choice, now, rules) else 0
            counter.last_seen_at = now
            rows.save_counter(connection, counter, "current_ticket_id", "priority_streak", "last_seen_at")
            wait_seconds = int((now - ticket.queue_since).total_seconds())
            logged.add(ticket, EventKind.CALLED, now, counter.id, user_id, wait_seconds=wait_seconds)
            entry_id = logged.write(connection)[-1]  # the call's event, added last
            call = TicketCalled(
                site_id=ticket.site_id,
                at=now,
                ticket=ticket_view(session, ticket, numbers),  # type: ignore[arg-type]  # a row reads as a Ticket
                user_id=user_id,
                service_ids=frozenset({ticket.service_id}),
                call_id=f"c{entry_id}",
            )
            events += [call, _counter_changed_row(counter, now, user_id, weights)]
            return Outcome(call.ticket, events)
        if events:  # the served ticket is finished even though nobody is left to call
            logged.write(connection)
            rows.save_counter(connection, counter, "current_ticket_id")
            events.append(_counter_changed_row(counter, now, user_id, weights))
            return Outcome(None, events)
        raise errors.NoTicketWaiting()
    finally:
        rows.forget_loaded(session, {counter.id}, touched)


def clerk_counter_and_current(
    connection: Connection, counter_id: int, user_id: int
) -> tuple[SimpleNamespace, SimpleNamespace | None]:
    """The clerk's counter and the citizen at it (called or being served) or None, read in one statement
    (`rows.counter_with_ticket`). Raises UnknownCounter (404) or WrongCounter (403)."""
    counter, ticket = rows.counter_with_ticket(connection, counter_id)
    return held_by(counter, user_id), ticket if ticket is not None and ticket.status in AT_COUNTER else None


#: `session.info` key: the rows `keep_read` kept for this transaction, as (counter id, clerk id, counter, current).
_KEPT_READ = "luot.counter_read"


def keep_read(
    session: Session, counter_id: int, user_id: int, counter: SimpleNamespace, current: SimpleNamespace | None
) -> None:
    """Keeps what `clerk_counter_and_current` just read in this write transaction for the use case that follows
    at once (`counter_at_hand`): the console's `ticket_id` check reads the counter and its citizen, and call next
    or start would read them again in the same transaction, with nothing written in between (issue 13)."""
    session.info[_KEPT_READ] = (counter_id, user_id, counter, current)


def forget_read(session: Session) -> None:
    """Drops what `keep_read` kept, if the use case did not take it."""
    session.info.pop(_KEPT_READ, None)


def counter_at_hand(session: Session, counter_id: int, user_id: int) -> tuple[SimpleNamespace, SimpleNamespace | None]:
    """`clerk_counter_and_current` for this transaction: the rows `keep_read` kept for the same counter and clerk
    (taken once: the use case changes them), else read now. Raises UnknownCounter (404) or WrongCounter (403)."""
    kept = session.info.pop(_KEPT_READ, None)
    if kept is not None and kept[0] == counter_id and kept[1] == user_id:
        return kept[2], kept[3]
    return clerk_counter_and_current(session.connection(), counter_id, user_id)


def _finish_row(
    session: Session,
    connection: Connection,
    logged: rows.EventBatch,
    ticket: SimpleNamespace,
    counter: SimpleNamespace,
    now: datetime,
    user_id: int,
    numbers: dict[int | None, int],
) -> TicketFinished:
    """`_finish` on rows (the same implicit start); its events go to `logged`, for the caller to write."""
    ticket.status = advance(Action.FINISH, ticket.status, ticket.display_number)
    if ticket.started_at is None:  # Start was not pressed: the service began at the (last) call
        ticket.started_at = ticket.called_at or now
        logged.add(ticket, EventKind.STARTED, now, counter.id, user_id, implicit=True)
    ticket.finished_at = now
    ticket.clerk_id = user_id  # the clerk who served: after a takeover, not the one who called
    rows.save_ticket(connection, ticket, "status", "started_at", "finished_at", "clerk_id")
    logged.add(ticket, EventKind.FINISHED, now, counter.id, user_id)
    counter.current_ticket_id = None
    view = ticket_view(session, ticket, numbers)  # type: ignore[arg-type]  # a row reads as a Ticket
    return TicketFinished(site_id=ticket.site_id, at=now, ticket=view, user_id=user_id)


def _counter_changed_row(
    counter: SimpleNamespace, now: datetime, user_id: int, weights: dict[int, int]
) -> CounterChanged:
    """`counters.counter_changed` for a counter row already saved."""
    view = counter_view(None, counter, weights)  # type: ignore[arg-type]  # a row reads as a Counter
    return CounterChanged(
        site_id=counter.site_id, at=now, counter=view, user_id=user_id, service_ids=frozenset(view.service_ids)
    )


#: Tickets of a line in memory found claimed by another process before the line is built again.
_STALE_AFTER = 3


def _line_choices(lines: LineSource, counter: Counter | SimpleNamespace, now: datetime) -> Iterator[Candidate]:
    """The counter's candidates from the line in memory, best first; a ticket another process claimed first is
    skipped, and after a few of those the line is rebuilt from the database."""
    line = lines.site(counter.site_id, now)
    weights = dict(line.counters[counter.id or 0].weights) if (counter.id or 0) in line.counters else {}
    taken: list[int] = []
    while True:
        view = line.next_for(counter.id or 0, now, counter.priority_streak, exclude=taken)
        if view is None:
            return
        yield Candidate(view.id, view.priority, view.queue_since, view.appointment_at, weights.get(view.service_id, 1))
        taken.append(view.id)
        if len(taken) == _STALE_AFTER and hasattr(lines, "mark_stale"):
            lines.mark_stale(counter.site_id)
            line, taken = lines.site(counter.site_id, now), []


def _database_choices(session: Session, counter: Counter | SimpleNamespace, now: datetime) -> list[Candidate]:
    """The counter's candidates read from the database, in call order."""
    weights = counter_service_ids(session, counter.id or 0)
    rules = site_rules(session, counter.site_id)
    tickets = waiting_tickets(session, counter.site_id, list(weights), now)
    return call_order([candidate(t, weights[t.service_id]) for t in tickets], now, rules, counter.priority_streak)


def _at_counter(session: Session, counter_id: int, user_id: int) -> tuple[Counter, Ticket]:
    """The clerk's counter and the citizen at it, now in that clerk's hands (`clerk_id`: after a takeover the
    clerk acting, who answers for the service, its rating and the export). Raises UnknownCounter, WrongCounter,
    NoCurrentTicket."""
    counter = counter_of_clerk(session, counter_id, user_id)
    ticket = current_ticket(session, counter)
    assert ticket is not None
    ticket.clerk_id = user_id
    return counter, ticket


def _of_today(ticket: Ticket, now: datetime) -> None:
    """Refuses to put back in a line a ticket of an earlier local day (a citizen at a counter across midnight):
    the lines and call next hold today's tickets only, and the day close cancels earlier days' waiting and held
    ones (`day_close`), so it would wait where nobody can call it. Raises TicketOfEarlierDay (409)."""
    if ticket.service_date != local_date(now):
        raise errors.TicketOfEarlierDay(number=ticket.display_number)


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
    connection = session.connection()
    counter, ticket = counter_at_hand(session, counter_id, user_id)
    if ticket is None:
        raise errors.NoCurrentTicket()
    ticket.status = advance(Action.START, ticket.status, ticket.display_number)
    ticket.started_at = now
    ticket.clerk_id = user_id
    rows.save_ticket(connection, ticket, "status", "started_at", "clerk_id")  # statements, not a flush: every press
    rows.append_event(connection, ticket, EventKind.STARTED, now, counter.id, user_id)
    rows.forget_loaded(session, set(), {ticket.id})
    view = ticket_view(session, ticket, {counter.id: counter.number})  # type: ignore[arg-type]  # a row reads as a Ticket
    return Outcome(view, [TicketStarted(site_id=ticket.site_id, at=now, ticket=view, user_id=user_id)])


def finish(session: Session, now: datetime, counter_id: int, user_id: int, dossiers: Sequence[str] = ()) -> Outcome:
    """The service is done, with the dossier codes (mã hồ sơ) the clerk typed or scanned, if any. Raises
    UnknownCounter, WrongCounter, NoCurrentTicket, InvalidDossierCode / TooManyDossierCodes (400)."""
    counter, ticket = _at_counter(session, counter_id, user_id)
    if dossiers:
        add_codes(session, ticket, dossiers, now, user_id)
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
    InvalidTransfer (400, the same service), TicketOfEarlierDay (409)."""
    counter, ticket = _at_counter(session, counter_id, user_id)
    _of_today(ticket, now)
    target = service_by_code(session, counter.site_id, service_code)
    if target.id == ticket.service_id:
        raise errors.InvalidTransfer()
    from_service = ticket.service_id
    ticket.status = advance(Action.TRANSFER, ticket.status, ticket.display_number)
    ticket.service_id = target.id or 0
    ticket.agency_id = target.agency_id
    ticket.counter_id = ticket.clerk_id = ticket.started_at = None  # waits for its new service: nobody serves it yet
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
    again. Raises UnknownCounter, WrongCounter, NoCurrentTicket, TicketOfEarlierDay (409)."""
    counter, ticket = _at_counter(session, counter_id, user_id)
    ticket.status = advance(Action.HOLD, ticket.status, ticket.display_number)
    _of_today(ticket, now)
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
    InvalidTransition (409, not held), TicketOfEarlierDay (409).
    """
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise errors.UnknownTicket()
    counter = session.exec(select(Counter).where(Counter.clerk_id == user_id)).first()
    if counter is None or counter.site_id != ticket.site_id:
        raise errors.WrongCounter()
    ticket.status = advance(Action.RETURN, ticket.status, ticket.display_number)
    _of_today(ticket, now)
    session.add(ticket)
    log_event(session, ticket, EventKind.RETURNED, now, counter.id, user_id)
    view = ticket_view(session, ticket)
    returned = TicketReturned(
        site_id=ticket.site_id, at=now, ticket=view, user_id=user_id, service_ids=frozenset({ticket.service_id})
    )
    return Outcome(view, [returned])
