"""A site's line held in memory: today's waiting, held and called tickets, its counters and its services, patched
by the events the use cases return, and the projection of it (`projection.project`) made once per change.

Pure: no database, no framework. `server.line_store` builds a `SiteLine` from the database, applies each
committed event, and serves every reader from it — so reading the line costs no query.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from server.domain import events as ev
from server.domain.estimates import residual_minutes, typical_service_minutes
from server.domain.ordering import US_PER_MINUTE, Candidate, Reason, Rule, call_order, micros, reasons
from server.domain.projection import (
    LineCounter,
    LineIndex,
    LineTicket,
    Projection,
    SiteProjection,
    next_for,
    pools,
    project,
)
from server.domain.readmodels import CounterView, TicketView
from server.domain.rules import SiteRules
from server.domain.vocabulary import CounterStatus

#: A projection is made again at least this often while the line stands still (counters overrun their
#: typical time, so call times drift).
REFRESH_US = 60 * 1_000_000
#: Calls kept for boards that (re)connect (the snapshot's recent calls).
RECENT_CALLS = 12
#: Finished services kept per service for the typical service time.
RECENT_SERVICES = 20


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    """What the line needs of a service: its agency, default minutes (until it has served enough citizens
    today), opening hours (to say when counters open) and whether it is active."""

    id: int
    agency_id: int
    default_minutes: float
    opening_hours: dict
    active: bool = True


@dataclass(frozen=True, slots=True)
class Call:
    """A call or recall of today, newest first in `SiteLine.recent_calls`."""

    call_id: str
    kind: str
    at: datetime
    display_number: str
    ticket_id: int
    service_id: int
    agency_id: int
    counter_id: int


@dataclass(frozen=True, slots=True)
class Entry:
    """One ticket of a counter's order: the ticket and why it stands there."""

    ticket: TicketView
    reasons: tuple[Reason, ...]


class LineSource(Protocol):
    """Where the use cases find a site's line (`server.line_store.LineStore`)."""

    def site(self, site_id: int, now: datetime | None = None) -> SiteLine: ...


def line_ticket(view: TicketView) -> LineTicket:
    return LineTicket(
        id=view.id,
        service_id=view.service_id,
        priority=view.priority,
        queue_since_us=micros(view.queue_since),
        appointment_us=None if view.appointment_at is None else micros(view.appointment_at),
        transferred=view.transfer_count > 0,
    )


@dataclass
class SiteLine:
    """The live state of one site for one local day. `version` grows with every applied event."""

    site_id: int
    day: date
    rules: SiteRules
    services: dict[int, ServiceInfo]
    counters: dict[int, CounterView]
    waiting: dict[int, TicketView] = field(default_factory=dict)
    held: dict[int, TicketView] = field(default_factory=dict)
    at_counter: dict[int, TicketView] = field(default_factory=dict)  # counter id → the citizen there
    recent_minutes: dict[int, deque[float]] = field(default_factory=dict)  # service → call-to-finish minutes
    last_called: dict[int, str] = field(default_factory=dict)  # service → display number called last
    recent_calls: deque[Call] = field(default_factory=lambda: deque(maxlen=RECENT_CALLS))
    issued: dict[int, int] = field(default_factory=dict)  # service chosen at the kiosk → tickets issued today
    version: int = 0
    _projection: SiteProjection | None = None
    _by_service: dict[int, dict[int, LineTicket]] = field(default_factory=dict)  # waiting tickets per service
    _stamps: dict[int, int] = field(default_factory=dict)  # service → changes that touched its pool
    _pools: dict[int, frozenset[int]] | None = None  # service → its pool (`projection.pools`)
    _parts: dict[frozenset[int], tuple[int, Projection]] = field(default_factory=dict)  # pool → (stamp, part)
    _orders: dict[int, tuple[int, int, list[Entry]]] = field(default_factory=dict)
    _index: LineIndex | None = None  # waiting tickets sorted for Call next, kept up to date by `apply`
    _line_tickets: dict[int, LineTicket] = field(default_factory=dict)

    # ------------------------------------------------------------ applying events

    def apply(self, events: Iterable[ev.QueueEvent]) -> set[int]:
        """Patches the line with committed events; returns the services whose line changed."""
        changed: set[int] = set()
        for event in events:
            if event.site_id != self.site_id:
                continue
            services = self._apply(event)
            changed |= services
            self._touch(services | self._services_of_counter_in(event))
            self.version += 1
        return changed

    def _services_of_counter_in(self, event: ev.QueueEvent) -> set[int]:
        """The services of the counter an event concerns: its state (busy, streak, open) shapes their pool's play."""
        if isinstance(event, ev.CounterChanged):
            counter = event.counter
        else:
            ticket = event.ticket
            counter = self.counters.get(ticket.counter_id) if ticket and ticket.counter_id is not None else None
        return set(counter.service_ids) if counter is not None else set()

    def _touch(self, services: Iterable[int]) -> None:
        for service_id in services:
            self._stamps[service_id] = self._stamps.get(service_id, 0) + 1

    def _apply(self, event: ev.QueueEvent) -> set[int]:
        if isinstance(event, ev.CounterChanged):
            return self._counter(event.counter) if event.counter is not None else set()
        ticket = event.ticket
        if ticket is None or ticket.service_date != self.day.isoformat():
            return set()
        if isinstance(event, ev.TicketIssued):
            self.issued[ticket.service_id] = self.issued.get(ticket.service_id, 0) + 1
        if isinstance(event, ev.TicketIssued | ev.TicketReturned):
            self.held.pop(ticket.id, None)
            self._wait(ticket)
            return {ticket.service_id}
        if isinstance(event, ev.TicketCalled | ev.TicketRecalled):
            self._leave_counters(ticket.id)
            self._unwait(ticket.id)
            if ticket.counter_id is not None:
                self.at_counter[ticket.counter_id] = ticket
                call_id = getattr(event, "call_id", "")
                self.recent_calls.appendleft(
                    Call(
                        call_id,
                        event.kind,
                        event.at,
                        ticket.display_number,
                        ticket.id,
                        ticket.service_id,
                        ticket.agency_id,
                        ticket.counter_id,
                    )
                )
            self.last_called[ticket.service_id] = ticket.display_number
            return {ticket.service_id}
        if isinstance(event, ev.TicketStarted):
            if ticket.counter_id is not None:
                self.at_counter[ticket.counter_id] = ticket
            return set()
        if isinstance(event, ev.TicketFinished):
            self._leave_counters(ticket.id)
            began = ticket.called_at or ticket.started_at
            if began is not None and ticket.finished_at is not None:
                minutes = (ticket.finished_at - began).total_seconds() / 60
                self.recent_minutes.setdefault(ticket.service_id, deque(maxlen=RECENT_SERVICES)).append(minutes)
            return {ticket.service_id}
        if isinstance(event, ev.TicketNoShow):
            self._leave_counters(ticket.id)
            return {ticket.service_id}
        if isinstance(event, ev.TicketTransferred):
            self._leave_counters(ticket.id)
            self._wait(ticket)
            return {ticket.service_id, event.from_service_id}
        if isinstance(event, ev.TicketHeld):
            self._leave_counters(ticket.id)
            self.held[ticket.id] = ticket
            return {ticket.service_id}
        return set()

    def _wait(self, ticket: TicketView) -> None:
        self._unwait(ticket.id)
        self.waiting[ticket.id] = ticket
        entry = self._line_tickets[ticket.id] = line_ticket(ticket)
        self._by_service.setdefault(entry.service_id, {})[entry.id] = entry
        if self._index is not None:
            self._index.add(entry)

    def _unwait(self, ticket_id: int) -> None:
        self.waiting.pop(ticket_id, None)
        entry = self._line_tickets.pop(ticket_id, None)
        if entry is not None:
            self._by_service.get(entry.service_id, {}).pop(ticket_id, None)
            self._touch((entry.service_id,))
            if self._index is not None:
                self._index.remove(entry)

    def _leave_counters(self, ticket_id: int) -> None:
        for counter_id in [c for c, t in self.at_counter.items() if t.id == ticket_id]:
            del self.at_counter[counter_id]

    def _counter(self, counter: CounterView) -> set[int]:
        before = self.counters.get(counter.id)
        self.counters[counter.id] = counter
        if counter.current_ticket_id is None:
            self.at_counter.pop(counter.id, None)
        if before is None or before.weights != counter.weights:
            self._index = None  # rebuilt at the next call
            self._pools = None  # and the pools with the projection
            self._parts.clear()
        if before is not None and (before.status, before.weights) == (counter.status, counter.weights):
            return set()
        return set(counter.service_ids) | (set(before.service_ids) if before else set())

    # ------------------------------------------------------------ reading

    def typical_minutes(self, service_id: int) -> float:
        service = self.services.get(service_id)
        default = service.default_minutes if service is not None else 6.0
        return typical_service_minutes(self.recent_minutes.get(service_id, ()), default)

    def line_counters(self, now: datetime, serving: frozenset[int] | None = None) -> list[LineCounter]:
        """The counters as the projection sees them at `now`: weights, whether they call, how long the citizen at
        each still holds it (µs). `serving`: only the counters that serve one of these services (a pool's)."""
        counters = []
        for counter in self.counters.values():
            weights = dict(counter.weights)  # the view's (service, weight) pairs
            if serving is not None and serving.isdisjoint(weights):
                continue
            busy = 0
            current = self.at_counter.get(counter.id)
            if current is not None:
                since = current.called_at or current.started_at or now
                left = residual_minutes(self.typical_minutes(current.service_id), (now - since).total_seconds() / 60)
                busy = int(left * US_PER_MINUTE)
            calling = counter.status == CounterStatus.OPEN and counter.clerk_id is not None
            counters.append(LineCounter(counter.id, weights, calling, counter.priority_streak, busy))
        return counters

    def projection(self, now: datetime) -> SiteProjection:
        """The projection at `now`, pool by pool (`projection.pools`): a pool is played again after a change that
        touched it, when one of its tickets changes class, or once a minute; the others are kept. So an issue or a
        call costs a play of its own pool, not of the whole site."""
        now_us = micros(now)
        if self._pools is None or any(sid not in self._pools for sid in self._by_service):
            counters = [LineCounter(c.id, dict(c.weights), True) for c in self.counters.values()]
            groups = pools(counters, set(self.services) | set(self._by_service))
            self._pools = {sid: pool for pool in groups for sid in pool}
            self._parts.clear()
        cached = self._projection
        parts: dict[int, Projection] = {}
        fresh = cached is not None
        for pool in set(self._pools.values()):
            stamp = sum(self._stamps.get(sid, 0) for sid in pool)
            kept = self._parts.get(pool)
            if kept is not None and kept[0] == stamp:
                part = kept[1]
                if part.at_us <= now_us < min(part.valid_until_us, part.at_us + REFRESH_US):
                    for sid in pool:
                        parts[sid] = part
                    continue
            fresh = False
            tickets = [t for sid in pool for t in self._by_service.get(sid, {}).values()]
            typical = {sid: int(self.typical_minutes(sid) * US_PER_MINUTE) for sid in pool}
            members = self.line_counters(now, pool)  # the pool's own counters: not the whole site's per play
            # Played here, on the event loop, even for a long pool: in eventlet's thread pool (tried for 400+ tickets)
            # each play fought the event loop for the GIL in 5 ms turns, and a burst of kiosk taps into closed
            # pools ran several at once: the issue p99 of 16 kiosks + 20 clerks was 276–325 ms with it, 70–76 ms
            # without (issue 13, 60 s runs alternated). A commune's pool is hundreds of tickets: a few ms a play.
            part = project(tickets, members, typical, now_us, self.rules)
            self._parts[pool] = (stamp, part)  # the stamp of before the play: a change meanwhile plays it again
            for sid in pool:
                parts[sid] = part
        if fresh and cached is not None:  # no pool was played again: the same projection
            return cached
        distinct = list({id(p): p for p in parts.values()}.values())
        self._projection = SiteProjection(
            at_us=min((p.at_us for p in distinct), default=now_us),
            valid_until_us=min((p.valid_until_us for p in distinct), default=2**62),
            parts=parts,
            tickets=self._line_tickets,
        )
        return self._projection

    def counter_order(self, counter_id: int, now: datetime, limit: int | None = None) -> list[Entry]:
        """The tickets this counter may call, in the order Call next would take them now, with why."""
        counter = self.counters.get(counter_id)
        if counter is None:
            return []
        now_us = micros(now)
        cached = self._orders.get(counter_id)
        if cached is not None and cached[0] == self.version and 0 <= now_us - cached[1] < 5_000_000:
            entries = cached[2]
        else:
            weights = dict(counter.weights)
            candidates = [
                self._candidate(view, weights[view.service_id])
                for view in self.waiting.values()
                if view.service_id in weights
            ]
            ordered = call_order(candidates, now, self.rules, counter.priority_streak)
            entries = [Entry(self.waiting[c.id], reasons(c, now, self.rules)) for c in ordered]
            self._orders[counter_id] = (self.version, now_us, entries)
        return entries if limit is None else entries[:limit]

    @staticmethod
    def _candidate(view: TicketView, weight: int) -> Candidate:
        return Candidate(
            view.id, view.priority, view.queue_since, view.appointment_at, weight, transferred=view.transfer_count > 0
        )

    def line_tickets(self) -> dict[int, LineTicket]:
        if len(self._line_tickets) != len(self.waiting):
            self._line_tickets = {tid: line_ticket(view) for tid, view in self.waiting.items()}
            self._by_service = {}
            for entry in self._line_tickets.values():
                self._by_service.setdefault(entry.service_id, {})[entry.id] = entry
            self._touch(self._by_service)
            self._projection = None
        return self._line_tickets

    def next_for(self, counter_id: int, now: datetime, streak: int, exclude: Iterable[int] = ()) -> TicketView | None:
        """The ticket Call next gives this counter now, after `streak` priority calls in a row (exactly
        `call_order(...)[0]` over its candidates), leaving out `exclude` (tickets another process claimed first).
        O(g · log n), whatever the length of the line."""
        if counter_id not in self.counters:
            return None
        if self._index is None:
            self._index = LineIndex(LineCounter(c.id, dict(c.weights), True) for c in self.counters.values())
            for entry in self.line_tickets().values():
                self._index.add(entry)
        left_out = [self._line_tickets[t] for t in exclude if t in self._line_tickets]
        for entry in left_out:
            self._index.remove(entry)
        try:
            found = next_for(self._index, counter_id, micros(now), Rule.of(self.rules), streak)
        finally:
            for entry in left_out:
                self._index.add(entry)
        return None if found is None else self.waiting[found]
