"""The queue use cases. Each takes a session inside one write transaction, applies the rules,
appends to the ticket event log and returns its result with the events it caused."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, func, update
from sqlmodel import Session, col, select

from server.clock import local_date
from server.domain import errors
from server.domain.events import (
    CounterChanged,
    QueueEvent,
    TicketCalled,
    TicketFinished,
    TicketHeld,
    TicketIssued,
    TicketNoShow,
    TicketRated,
    TicketRecalled,
    TicketReturned,
    TicketStarted,
    TicketTransferred,
    TicketView,
)
from server.domain.hours import is_open
from server.domain.numbering import allocate_number, display_number
from server.domain.ordering import call_order, counts_toward_streak
from server.domain.queries import (
    candidate,
    counter_service_ids,
    counter_view,
    service_queues,
    site_rules,
    ticket_view,
    waiting_tickets,
)
from server.domain.rules import ALL_RATING_SCORES, PRIORITY_CLASSES
from server.models import (
    Appointment,
    Counter,
    CounterEvent,
    NumberSequence,
    Rating,
    Service,
    Ticket,
    TicketEvent,
    User,
)


@dataclass
class Outcome:
    """What a use case did: the ticket it concerns (if any) and the events to publish after commit."""

    ticket: TicketView | None = None
    events: list[QueueEvent] = field(default_factory=list)
    waiting_ahead: int = 0
    estimated_wait_minutes: int | None = None
    created: bool = True


def _log(
    session: Session,
    ticket: Ticket,
    kind: str,
    now: datetime,
    counter_id: int | None = None,
    user_id: int | None = None,
    flush: bool = True,
    **data: object,
) -> TicketEvent:
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


# Statements of the issue path, built once (building them cost more than running them).
_SERVICE_BY_CODE = select(Service).where(Service.site_id == bindparam("site_id"), Service.code == bindparam("code"))
_BY_IDEMPOTENCY_KEY = select(Ticket).where(
    Ticket.issuer_key == bindparam("issuer_key"), Ticket.idempotency_key == bindparam("key")
)
_ISSUED_TODAY = (
    select(func.count())
    .select_from(Ticket)
    .where(Ticket.origin_service_id == bindparam("service_id"), Ticket.service_date == bindparam("day"))
)


def _service_by_code(session: Session, site_id: int, code: str) -> Service:
    service = session.exec(_SERVICE_BY_CODE, params={"site_id": site_id, "code": code}).first()
    if service is None or not service.active:
        raise errors.UnknownService(service=code)
    return service


# ---------------------------------------------------------------- issuing


def issue_ticket(
    session: Session,
    now: datetime,
    *,
    site_id: int,
    service_code: str | None = None,
    priority: str = "",
    appointment_code: str | None = None,
    channel: str = "kiosk",
    issuer_key: str = "",
    idempotency_key: str | None = None,
) -> Outcome:
    """Give a citizen the next number of a service (or check in an appointment)."""
    if idempotency_key:
        existing = session.exec(_BY_IDEMPOTENCY_KEY, params={"issuer_key": issuer_key, "key": idempotency_key}).first()
        if existing is not None:
            return _repeat_of(session, existing, now, service_code, appointment_code)
    priority = priority or ""
    if priority and priority not in PRIORITY_CLASSES:
        raise errors.InvalidPriority(priority=priority)
    appointment: Appointment | None = None
    if appointment_code:
        appointment = session.exec(
            select(Appointment).where(Appointment.site_id == site_id, Appointment.code == appointment_code)
        ).first()
        if appointment is None or local_date(appointment.slot_at) != local_date(now):
            raise errors.UnknownAppointment()
        if appointment.ticket_id is not None:
            raise errors.AppointmentUsed()
        service = session.get(Service, appointment.service_id)
        assert service is not None
        channel = "appointment"
    elif service_code:
        service = _service_by_code(session, site_id, service_code)
    else:
        raise errors.UnknownService(service="")
    if not is_open(service.opening_hours, now):
        raise errors.ServiceClosed()
    today = local_date(now)
    if service.daily_cap is not None:
        issued_today = session.exec(_ISSUED_TODAY, params={"service_id": service.id, "day": today}).one()
        if issued_today >= service.daily_cap:
            raise errors.DailyCapReached(cap=service.daily_cap)
    sequence = session.get(NumberSequence, service.sequence_id)
    assert sequence is not None
    number = allocate_number(session, sequence, today)
    ticket = Ticket(
        site_id=site_id,
        service_id=service.id or 0,
        agency_id=service.agency_id,
        origin_service_id=service.id or 0,
        sequence_id=sequence.id or 0,
        service_date=today,
        number=number,
        display_number=display_number(sequence, number),
        priority=priority,
        channel=channel,
        appointment_at=appointment.slot_at if appointment else None,
        status="waiting",
        issued_at=now,
        queue_since=now,
        tracking_token=secrets.token_urlsafe(16),
        issuer_key=issuer_key,
        idempotency_key=idempotency_key or None,
    )
    session.add(ticket)
    session.flush()
    if appointment is not None:
        appointment.ticket_id = ticket.id
        session.add(appointment)
    queue = service_queues(session, site_id, now, [ticket.service_id])[ticket.service_id]
    ahead = queue.ahead_of(ticket.id or 0)
    ticket.estimated_wait_minutes = queue.estimate_for(ticket.id or 0)
    session.add(ticket)
    _log(
        session,
        ticket,
        "issued",
        now,
        flush=False,
        channel=channel,
        priority=priority,
        waiting_ahead=ahead,
        estimated_wait_minutes=ticket.estimated_wait_minutes,
    )
    view = ticket_view(session, ticket)
    event = TicketIssued(
        site_id=site_id, at=now, ticket=view, service_ids=frozenset({ticket.service_id}), queues=(queue,)
    )
    return Outcome(view, [event], ahead, ticket.estimated_wait_minutes, created=True)


def _repeat_of(
    session: Session, ticket: Ticket, now: datetime, service_code: str | None, appointment_code: str | None
) -> Outcome:
    service = session.get(Service, ticket.origin_service_id)
    same = (appointment_code is not None and ticket.channel == "appointment") or (
        service is not None and service.code == service_code
    )
    if not same:
        raise errors.IdempotencyConflict()
    queue = service_queues(session, ticket.site_id, now, [ticket.service_id])[ticket.service_id]
    return Outcome(
        ticket_view(session, ticket),
        [],
        queue.ahead_of(ticket.id or 0),
        ticket.estimated_wait_minutes,
        created=False,
    )


# ---------------------------------------------------------------- counters


def _counter_of_clerk(session: Session, counter_id: int, user_id: int) -> Counter:
    counter = session.get(Counter, counter_id)
    if counter is None:
        raise errors.UnknownCounter()
    if counter.clerk_id != user_id:
        raise errors.WrongCounter()
    return counter


def _counter_log(
    session: Session, counter: Counter, kind: str, now: datetime, user_id: int | None, **data: object
) -> None:
    session.add(
        CounterEvent(
            counter_id=counter.id or 0, site_id=counter.site_id, kind=kind, at=now, user_id=user_id, data=dict(data)
        )
    )


def _counter_changed(session: Session, counter: Counter, now: datetime, user_id: int | None) -> CounterChanged:
    session.add(counter)
    session.flush()
    view = counter_view(session, counter)
    return CounterChanged(
        site_id=counter.site_id, at=now, counter=view, user_id=user_id, service_ids=frozenset(view.service_ids)
    )


def open_counter(session: Session, now: datetime, counter_id: int, user_id: int, *, takeover: bool = False) -> Outcome:
    """A clerk takes a counter. One clerk holds one counter; taking over another's needs `takeover`."""
    counter = session.get(Counter, counter_id)
    if counter is None:
        raise errors.UnknownCounter()
    clerk = session.get(User, user_id)
    if clerk is None or clerk.site_id not in (None, counter.site_id):
        raise errors.WrongCounter()
    held = session.exec(select(Counter).where(Counter.clerk_id == user_id)).first()
    if held is not None and held.id != counter.id:
        raise errors.ClerkHasCounter(counter=held.number)
    if counter.clerk_id not in (None, user_id):
        if not takeover:
            raise errors.CounterTaken(counter=counter.number)
        _counter_log(session, counter, "taken_over", now, user_id, previous_clerk_id=counter.clerk_id)
    counter.clerk_id = user_id
    if counter.status == "closed":
        counter.status = "open"
    counter.last_seen_at = now
    _counter_log(session, counter, "opened", now, user_id)
    return Outcome(events=[_counter_changed(session, counter, now, user_id)])


def close_counter(session: Session, now: datetime, counter_id: int, user_id: int) -> Outcome:
    counter = _counter_of_clerk(session, counter_id, user_id)
    current = _current_ticket(session, counter, required=False)
    if current is not None and current.status in ("called", "serving"):
        raise errors.InvalidTransition(number=current.display_number, action="left open")
    counter.clerk_id = None
    counter.status = "closed"
    counter.current_ticket_id = None
    counter.pause_reason = ""
    _counter_log(session, counter, "closed", now, user_id)
    return Outcome(events=[_counter_changed(session, counter, now, user_id)])


def pause_counter(session: Session, now: datetime, counter_id: int, user_id: int, reason: str = "") -> Outcome:
    counter = _counter_of_clerk(session, counter_id, user_id)
    counter.status = "paused"
    counter.pause_reason = reason[:200]
    _counter_log(session, counter, "paused", now, user_id, reason=counter.pause_reason)
    return Outcome(events=[_counter_changed(session, counter, now, user_id)])


def resume_counter(session: Session, now: datetime, counter_id: int, user_id: int) -> Outcome:
    counter = _counter_of_clerk(session, counter_id, user_id)
    counter.status = "open"
    counter.pause_reason = ""
    _counter_log(session, counter, "resumed", now, user_id)
    return Outcome(events=[_counter_changed(session, counter, now, user_id)])


# ---------------------------------------------------------------- calling and serving


def _current_ticket(session: Session, counter: Counter, required: bool = True) -> Ticket | None:
    ticket = session.get(Ticket, counter.current_ticket_id) if counter.current_ticket_id else None
    if ticket is not None and ticket.status not in ("called", "serving"):
        ticket = None
    if ticket is None and required:
        raise errors.NoCurrentTicket()
    return ticket


def _claim(session: Session, ticket_id: int, values: dict[str, object]) -> bool:
    """Moves a waiting ticket on, only if it is still waiting (row lock skipped by others on PostgreSQL)."""
    locked = session.exec(
        select(Ticket.id).where(Ticket.id == ticket_id, Ticket.status == "waiting").with_for_update(skip_locked=True)
    ).first()
    if locked is None:
        return False
    result = session.execute(
        update(Ticket).where(col(Ticket.id) == ticket_id, col(Ticket.status) == "waiting").values(**values)
    )
    return result.rowcount == 1


def _finish(session: Session, ticket: Ticket, counter: Counter, now: datetime, user_id: int) -> TicketFinished:
    if ticket.started_at is None:
        ticket.started_at = now
        _log(session, ticket, "started", now, counter.id, user_id, implicit=True)
    ticket.status = "done"
    ticket.finished_at = now
    session.add(ticket)
    _log(session, ticket, "finished", now, counter.id, user_id)
    counter.current_ticket_id = None
    return TicketFinished(site_id=ticket.site_id, at=now, ticket=ticket_view(session, ticket), user_id=user_id)


def call_next(session: Session, now: datetime, counter_id: int, user_id: int) -> Outcome:
    """Call the next citizen to a counter. A ticket being served is finished first (one key press).

    Returns an Outcome without a ticket when that finish happened but nobody waits.
    """
    counter = _counter_of_clerk(session, counter_id, user_id)
    if counter.status == "paused":
        raise errors.CounterPaused()
    if counter.status != "open":
        raise errors.CounterNotOpen()
    events: list[QueueEvent] = []
    current = _current_ticket(session, counter, required=False)
    if current is not None:
        if current.status == "called":
            raise errors.TicketStillCalled(number=current.display_number)
        events.append(_finish(session, current, counter, now, user_id))
    weights = counter_service_ids(session, counter_id)
    rules = site_rules(session, counter.site_id)
    tickets = {t.id: t for t in waiting_tickets(session, counter.site_id, list(weights), now)}
    order = call_order(
        [candidate(t, weights[t.service_id]) for t in tickets.values()], now, rules, counter.priority_streak
    )
    values = {"status": "called", "counter_id": counter.id, "clerk_id": user_id, "called_at": now}
    for choice in order:
        ticket = tickets[choice.id]
        if not _claim(session, choice.id, {**values, "first_called_at": ticket.first_called_at or now}):
            continue
        session.refresh(ticket)
        counter.current_ticket_id = ticket.id
        counter.priority_streak = counter.priority_streak + 1 if counts_toward_streak(choice, now, rules) else 0
        counter.last_seen_at = now
        entry = _log(
            session,
            ticket,
            "called",
            now,
            counter.id,
            user_id,
            wait_seconds=int((now - ticket.queue_since).total_seconds()),
        )
        call = TicketCalled(
            site_id=ticket.site_id,
            at=now,
            ticket=ticket_view(session, ticket),
            user_id=user_id,
            service_ids=frozenset({ticket.service_id}),
            call_id=f"c{entry.id}",
        )
        events += [call, _counter_changed(session, counter, now, user_id)]
        return Outcome(call.ticket, events)
    if events:  # the served ticket is finished even though nobody is left to call
        events.append(_counter_changed(session, counter, now, user_id))
        return Outcome(None, events)
    raise errors.NoTicketWaiting()


def recall(session: Session, now: datetime, counter_id: int, user_id: int) -> Outcome:
    """Call the current ticket again; past the site's recall limit it becomes a no-show if so configured."""
    counter = _counter_of_clerk(session, counter_id, user_id)
    ticket = _current_ticket(session, counter)
    assert ticket is not None
    if ticket.status != "called":
        raise errors.InvalidTransition(number=ticket.display_number, action="recalled")
    rules = site_rules(session, counter.site_id)
    if rules.no_show_after_recall_limit and 0 < rules.recall_limit <= ticket.recall_count:
        return no_show(session, now, counter_id, user_id, reason="recall_limit")
    ticket.recall_count += 1
    ticket.called_at = now
    session.add(ticket)
    entry = _log(session, ticket, "recalled", now, counter.id, user_id, recall_count=ticket.recall_count)
    view = ticket_view(session, ticket)
    return Outcome(
        view, [TicketRecalled(site_id=ticket.site_id, at=now, ticket=view, user_id=user_id, call_id=f"c{entry.id}")]
    )


def start(session: Session, now: datetime, counter_id: int, user_id: int) -> Outcome:
    counter = _counter_of_clerk(session, counter_id, user_id)
    ticket = _current_ticket(session, counter)
    assert ticket is not None
    if ticket.status != "called":
        raise errors.InvalidTransition(number=ticket.display_number, action="started")
    ticket.status = "serving"
    ticket.started_at = now
    session.add(ticket)
    _log(session, ticket, "started", now, counter.id, user_id)
    view = ticket_view(session, ticket)
    return Outcome(view, [TicketStarted(site_id=ticket.site_id, at=now, ticket=view, user_id=user_id)])


def finish(session: Session, now: datetime, counter_id: int, user_id: int) -> Outcome:
    counter = _counter_of_clerk(session, counter_id, user_id)
    ticket = _current_ticket(session, counter)
    assert ticket is not None
    event = _finish(session, ticket, counter, now, user_id)
    return Outcome(event.ticket, [event, _counter_changed(session, counter, now, user_id)])


def no_show(session: Session, now: datetime, counter_id: int, user_id: int, reason: str = "clerk") -> Outcome:
    counter = _counter_of_clerk(session, counter_id, user_id)
    ticket = _current_ticket(session, counter)
    assert ticket is not None
    if ticket.status != "called":
        raise errors.InvalidTransition(number=ticket.display_number, action="marked as no-show")
    ticket.status = "no_show"
    session.add(ticket)
    _log(session, ticket, "no_show", now, counter.id, user_id, reason=reason)
    counter.current_ticket_id = None
    view = ticket_view(session, ticket)
    return Outcome(
        view,
        [
            TicketNoShow(site_id=ticket.site_id, at=now, ticket=view, user_id=user_id),
            _counter_changed(session, counter, now, user_id),
        ],
    )


def transfer(session: Session, now: datetime, counter_id: int, user_id: int, service_code: str) -> Outcome:
    """Send the current citizen to another service or agency; they keep their place by original time."""
    counter = _counter_of_clerk(session, counter_id, user_id)
    ticket = _current_ticket(session, counter)
    assert ticket is not None
    target = _service_by_code(session, counter.site_id, service_code)
    if target.id == ticket.service_id:
        raise errors.InvalidTransfer()
    from_service = ticket.service_id
    ticket.service_id = target.id or 0
    ticket.agency_id = target.agency_id
    ticket.status = "waiting"
    ticket.counter_id = None
    ticket.transfer_count += 1
    session.add(ticket)
    _log(
        session, ticket, "transferred", now, counter.id, user_id, from_service_id=from_service, to_service_id=target.id
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
    return Outcome(view, [moved, _counter_changed(session, counter, now, user_id)])


def hold(session: Session, now: datetime, counter_id: int, user_id: int, note: str = "") -> Outcome:
    """Put the current citizen aside (e.g. to fetch a document); the counter is free again."""
    counter = _counter_of_clerk(session, counter_id, user_id)
    ticket = _current_ticket(session, counter)
    assert ticket is not None
    ticket.status = "held"
    ticket.hold_note = note[:300]
    session.add(ticket)
    _log(session, ticket, "held", now, counter.id, user_id, note=ticket.hold_note)
    counter.current_ticket_id = None
    view = ticket_view(session, ticket)
    return Outcome(
        view,
        [
            TicketHeld(site_id=ticket.site_id, at=now, ticket=view, user_id=user_id),
            _counter_changed(session, counter, now, user_id),
        ],
    )


def return_ticket(session: Session, now: datetime, ticket_id: int, user_id: int) -> Outcome:
    """A held citizen is back: the ticket waits again with its original time (so it comes up soon)."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise errors.UnknownTicket()
    counter = session.exec(select(Counter).where(Counter.clerk_id == user_id)).first()
    if counter is None or counter.site_id != ticket.site_id:
        raise errors.WrongCounter()
    if ticket.status != "held":
        raise errors.InvalidTransition(number=ticket.display_number, action="returned")
    ticket.status = "waiting"
    session.add(ticket)
    _log(session, ticket, "returned", now, counter.id, user_id)
    view = ticket_view(session, ticket)
    return Outcome(
        view,
        [
            TicketReturned(
                site_id=ticket.site_id, at=now, ticket=view, user_id=user_id, service_ids=frozenset({ticket.service_id})
            )
        ],
    )


# ---------------------------------------------------------------- rating


def rate(
    session: Session, now: datetime, ticket_id: int, score: str, comment: str = "", source: str = "tablet"
) -> Outcome:
    """Store the citizen's rating of a finished service, once per ticket."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise errors.UnknownTicket()
    rules = site_rules(session, ticket.site_id)
    if score not in rules.rating_scale or score not in ALL_RATING_SCORES:
        raise errors.InvalidScore(score=score)
    if ticket.status != "done":
        raise errors.RatingNotAllowed()
    if session.exec(select(Rating).where(Rating.ticket_id == ticket.id)).first() is not None:
        raise errors.AlreadyRated()
    session.add(
        Rating(
            ticket_id=ticket.id or 0,
            site_id=ticket.site_id,
            agency_id=ticket.agency_id,
            service_id=ticket.service_id,
            counter_id=ticket.counter_id,
            clerk_id=ticket.clerk_id,
            score=score,
            comment=comment.strip()[:1000],
            source=source,
            at=now,
        )
    )
    _log(session, ticket, "rated", now, ticket.counter_id, None, score=score, source=source)
    view = ticket_view(session, ticket)
    return Outcome(view, [TicketRated(site_id=ticket.site_id, at=now, ticket=view, score=score)])
