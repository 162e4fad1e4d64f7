"""The line's one truth: the projected call order of a whole site, by the same rule as Call next.

`project()` plays the site's line forward: every counter that is calling (open, not paused) takes, each time it
is free, exactly the ticket Call next would give it at that moment (`ordering` — the same classes, weights,
appointment windows, ageing and priority streak), and keeps it for the typical minutes of that ticket's
service. The result gives every waiting ticket

- its **position** in the projected sequence of calls of the site,
- the **counter** likely to call it, and its **expected wait** (the projected call time − now),
- the **people ahead** of it: the tickets the projection calls before it on any counter that can serve it.

Assumptions: no new arrivals (a new priority ticket later moves people back, and the projection is made again),
counters keep their services and their open/paused state, each citizen takes the typical minutes of their
service, and a counter busy with a citizen frees after the remaining typical time (`estimates.residual_minutes`).
Tickets whose services no calling counter serves get a position and people ahead from the counters that serve
them (as if they opened at once) but **no** wait: nobody can promise minutes while no counter is open.

Cost: O(n · g · log n) for n waiting tickets and g groups of services per counter (counters serving the same
services share their sorted lists), so a projection never costs more than the line it plays through.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sortedcontainers import SortedList

from server.domain.ordering import APPOINTMENT, ORDINARY, PRIORITY, Rule, sort_key
from server.domain.rules import SiteRules

_LOW = -(2**62)


@dataclass(frozen=True, slots=True)
class LineTicket:
    """A waiting ticket, times in microseconds since 1970."""

    id: int
    service_id: int
    priority: str
    queue_since_us: int
    appointment_us: int | None = None
    transferred: bool = False


@dataclass(frozen=True, slots=True)
class LineCounter:
    """A counter of the site: `weights` maps each service it serves to its weight; `calling` is true when it is
    open (not paused or closed); `free_in_us` is how long its current citizen still holds it (0: free now)."""

    id: int
    weights: Mapping[int, int]
    calling: bool
    priority_streak: int = 0
    free_in_us: int = 0


@dataclass(frozen=True, slots=True)
class Forecast:
    """One waiting ticket's future: `position` in the site's projected calls (0 = next), the counter likely to
    call it, `call_in_us` (None: no calling counter serves it — no wait can be promised) and `ahead`."""

    position: int
    counter_id: int | None
    call_in_us: int | None
    ahead: int


@dataclass(frozen=True, slots=True)
class ServiceOutlook:
    """One service's line: waiting tickets, calling counters serving it, and when a ticket issued now (ordinary)
    would be called (`next_call_in_us`, None when no calling counter serves it): when the first of its counters
    runs out of other citizens."""

    service_id: int
    waiting: int
    calling_counters: int
    next_call_in_us: int | None
    longest_wait_us: int


@dataclass
class Projection:
    """The projected calls of a site at `at_us`. `sequence` lists (ticket, counter, call_in_us) in call order
    (phase 1: calling counters; then the tickets no calling counter serves). `valid_until_us`: the first instant a
    waiting ticket changes class (ageing, an appointment window opening or closing)."""

    at_us: int
    forecasts: dict[int, Forecast] = field(default_factory=dict)
    sequence: list[tuple[int, int, int | None]] = field(default_factory=list)
    services: dict[int, ServiceOutlook] = field(default_factory=dict)
    valid_until_us: int = 2**62
    #: (phase, instant of the play, counter) of each `sequence` entry: the order the site's play pops them in
    keys: list[tuple[int, int, int]] = field(default_factory=list)

    def forecast(self, ticket_id: int) -> Forecast | None:
        return self.forecasts.get(ticket_id)


def pools(counters: Iterable[LineCounter], service_ids: Iterable[int]) -> list[frozenset[int]]:
    """The site's services split into independent pools: two services are in one pool when a counter serves both
    (directly or through other services). Counters of different pools never compete for a ticket, so each pool
    plays out alone exactly as inside the whole site (the play pops counters by (instant, id) either way)."""
    parent: dict[int, int] = {}

    def root(service_id: int) -> int:
        parent.setdefault(service_id, service_id)
        while parent[service_id] != service_id:
            parent[service_id] = parent[parent[service_id]]
            service_id = parent[service_id]
        return service_id

    for service_id in service_ids:
        root(service_id)
    for counter in counters:
        served = list(counter.weights)
        for other in served[1:]:
            parent[root(other)] = root(served[0])
        if served:
            root(served[0])
    grouped: dict[int, set[int]] = defaultdict(set)
    for service_id in list(parent):
        grouped[root(service_id)].add(service_id)
    return [frozenset(group) for group in grouped.values()]


@dataclass
class SiteProjection:
    """A site's projection made of its pools' projections (`pools`), each made by `project` and kept until its
    pool changes. Forecasts are exactly those of one `project` over the whole site, except `position`, which
    counts within the ticket's pool. `tickets` maps the waiting tickets to their service (the line's own map)."""

    at_us: int
    valid_until_us: int
    parts: dict[int, Projection]  # service id → the projection of its pool
    tickets: Mapping[int, LineTicket]

    def forecast(self, ticket_id: int) -> Forecast | None:
        ticket = self.tickets.get(ticket_id)
        part = self.parts.get(ticket.service_id) if ticket is not None else None
        return part.forecast(ticket_id) if part is not None else None

    def _distinct(self) -> list[Projection]:
        return list({id(part): part for part in self.parts.values()}.values())

    @property
    def services(self) -> dict[int, ServiceOutlook]:
        return {sid: part.services[sid] for sid, part in self.parts.items() if sid in part.services}

    @property
    def forecasts(self) -> dict[int, Forecast]:
        """Every waiting ticket's forecast (O(n): for tests and exports, not for readers of one ticket)."""
        return {tid: f for part in self._distinct() for tid, f in part.forecasts.items()}

    @property
    def sequence(self) -> list[tuple[int, int, int | None]]:
        """The site's calls in the order one play of the whole site makes them (O(n log pools))."""
        merged = heapq.merge(*(zip(part.keys, part.sequence, strict=True) for part in self._distinct()))
        return [entry for _key, entry in merged]


class LineIndex:
    """The waiting tickets in sorted lists per group of services (a set of services a counter serves with one
    weight): priority tickets and ordinary tickets by (queue_since, id), appointments by (slot, id). Finding the
    ticket Call next gives a counter costs O(g · log n) for its g groups, whatever the length of the line."""

    def __init__(self, counters: Iterable[LineCounter]) -> None:
        self.of_counter: dict[int, list[tuple[int, frozenset[int]]]] = {}
        self.of_service: dict[int, list[frozenset[int]]] = defaultdict(list)
        self.priority: dict[frozenset[int], SortedList] = {}
        self.ordinary: dict[frozenset[int], SortedList] = {}
        self.appointments: dict[frozenset[int], SortedList] = {}
        for counter in counters:
            by_weight: dict[int, set[int]] = defaultdict(set)
            for service_id, weight in counter.weights.items():
                by_weight[max(weight, 1)].add(service_id)
            groups = [(weight, frozenset(services)) for weight, services in sorted(by_weight.items())]
            self.of_counter[counter.id] = groups
            for _weight, services in groups:
                if services not in self.priority:
                    self.priority[services] = SortedList()
                    self.ordinary[services] = SortedList()
                    self.appointments[services] = SortedList()
                    for service_id in services:
                        self.of_service[service_id].append(services)

    def add(self, ticket: LineTicket) -> None:
        for services in self.of_service.get(ticket.service_id, ()):
            lane = self.priority if ticket.priority else self.ordinary
            lane[services].add((ticket.queue_since_us, ticket.id))
            if ticket.appointment_us is not None:
                self.appointments[services].add((ticket.appointment_us, ticket.id))

    def remove(self, ticket: LineTicket) -> None:
        for services in self.of_service.get(ticket.service_id, ()):
            lane = self.priority if ticket.priority else self.ordinary
            lane[services].remove((ticket.queue_since_us, ticket.id))
            if ticket.appointment_us is not None:
                self.appointments[services].remove((ticket.appointment_us, ticket.id))


def next_for(groups: LineIndex, counter_id: int, now_us: int, rule: Rule, streak: int) -> int | None:
    """The id of the ticket Call next gives this counter at `now_us` (exactly `ordering.call_order(...)[0]`): the
    first appointment inside its window, else the best key of the heads of the priority and ordinary lanes — or,
    after `streak_limit` priority calls in a row when that best is of the priority class, the best head of the
    ordinary lanes (the longest-waiting ordinary ticket, aged or not: `ordering.call_order`)."""
    lanes = groups.of_counter.get(counter_id, ())
    slot = _first_in_window(groups, lanes, now_us, rule)
    if slot is not None:
        return slot
    best_priority: tuple | None = None
    best_ordinary: tuple | None = None
    for weight, services in lanes:
        priority = groups.priority[services]
        if priority:
            queue_since, ticket_id = priority[0]
            key = sort_key(PRIORITY, queue_since, None, weight, ticket_id, now_us)
            best_priority = key if best_priority is None or key < best_priority else best_priority
        ordinary = groups.ordinary[services]
        if ordinary:  # a lane's head is its best ordinary ticket: one weight, and aged ones are the oldest
            queue_since, ticket_id = ordinary[0]
            klass = PRIORITY if rule.aged(queue_since, now_us) else ORDINARY
            key = sort_key(klass, queue_since, None, weight, ticket_id, now_us)
            best_ordinary = key if best_ordinary is None or key < best_ordinary else best_ordinary
    best = min((key for key in (best_priority, best_ordinary) if key is not None), default=None)
    if best is None:
        return None
    if streak >= rule.streak_limit and best[0] == PRIORITY and best_ordinary is not None:
        return best_ordinary[-1]
    return best[-1]


def _first_in_window(
    groups: LineIndex, lanes: Iterable[tuple[int, frozenset[int]]], now_us: int, rule: Rule
) -> int | None:
    """The id of the ticket with the earliest slot whose window is open at `now_us` in these lanes, if any."""
    best_slot: tuple[int, int] | None = None
    for _weight, services in lanes:
        slots = groups.appointments[services]
        if slots:
            index = slots.bisect_left((now_us - rule.late_us, _LOW))
            if index < len(slots) and slots[index][0] <= now_us + rule.early_us:
                slot = slots[index]
                if best_slot is None or slot < best_slot:
                    best_slot = slot
    return None if best_slot is None else best_slot[1]


def _class_changes(tickets: Iterable[LineTicket], now_us: int, rule: Rule) -> int:
    """The first instant after `now_us` at which a ticket's class changes (ageing, a window opening or closing)."""
    soonest = 2**62
    for ticket in tickets:
        moments = []
        if rule.aging_us and not ticket.priority:
            moments.append(ticket.queue_since_us + rule.aging_us)
        if ticket.appointment_us is not None:
            moments += [ticket.appointment_us - rule.early_us, ticket.appointment_us + rule.late_us + 1]
        for moment in moments:
            if now_us < moment < soonest:
                soonest = moment
    return soonest


def _play(
    tickets: dict[int, LineTicket],
    counters: list[LineCounter],
    typical_us: Mapping[int, int],
    default_us: int,
    now_us: int,
    rule: Rule,
    timed: bool,
) -> tuple[list[tuple[int, int, int]], dict[int, int]]:
    """Counters take tickets as Call next would until none is left for them. Returns the calls (ticket, counter,
    call_in_us) in order, and when each counter ran out of citizens (call_in_us)."""
    groups = LineIndex(counters)
    for ticket in tickets.values():
        groups.add(ticket)
    streak = {counter.id: counter.priority_streak for counter in counters}
    free = [(counter.free_in_us if timed else 0, counter.id) for counter in counters]
    heapq.heapify(free)
    calls: list[tuple[int, int, int]] = []
    ran_out: dict[int, int] = {}
    while free:
        at, counter_id = heapq.heappop(free)
        ticket_id = next_for(groups, counter_id, now_us + at, rule, streak[counter_id])
        if ticket_id is None:
            ran_out[counter_id] = at
            continue
        ticket = tickets[ticket_id]
        groups.remove(ticket)
        extends = rule.extends_streak(ticket.priority, ticket.queue_since_us, ticket.appointment_us, now_us + at)
        streak[counter_id] = streak[counter_id] + 1 if extends else 0
        calls.append((ticket_id, counter_id, at))
        heapq.heappush(free, (at + typical_us.get(ticket.service_id, default_us), counter_id))
    return calls, ran_out


def _ahead(
    calls: list[tuple[int, int, int]], tickets: Mapping[int, LineTicket], pools: Mapping[int, frozenset[int]]
) -> dict[int, int]:
    """For each called ticket: how many tickets were called before it by counters of its service's pool."""
    pools_of_counter: dict[int, list[frozenset[int]]] = defaultdict(list)
    for pool in set(pools.values()):
        for counter_id in pool:
            pools_of_counter[counter_id].append(pool)
    running: dict[frozenset[int], int] = defaultdict(int)
    ahead: dict[int, int] = {}
    for ticket_id, counter_id, _at in calls:
        ahead[ticket_id] = running[pools[tickets[ticket_id].service_id]]
        for pool in pools_of_counter[counter_id]:
            running[pool] += 1
    return ahead


def _unserved(left: Mapping[int, LineTicket], placed: set[int], now_us: int, rule: Rule) -> list[tuple[int, int]]:
    """Tickets of services no counter serves at all: (ticket, place in its own service's line) in call order."""
    by_service: dict[int, list[tuple]] = defaultdict(list)
    for ticket in left.values():
        if ticket.id not in placed:
            klass = rule.klass(ticket.priority, ticket.queue_since_us, ticket.appointment_us, now_us)
            key = sort_key(klass, ticket.queue_since_us, ticket.appointment_us, 1, ticket.id, now_us)
            by_service[ticket.service_id].append(key)
    return [(key[-1], place) for _s, keys in sorted(by_service.items()) for place, key in enumerate(sorted(keys))]


def project(
    tickets: Iterable[LineTicket],
    counters: Iterable[LineCounter],
    typical_us: Mapping[int, int],
    now_us: int,
    rules: SiteRules,
    default_us: int = 6 * 60_000_000,
) -> Projection:
    """The projection of a site's line at `now_us` (see the module docstring for what it promises and assumes).

    `typical_us`: the typical time a citizen of each service holds a counter (from the call), else `default_us`.
    """
    rule = Rule.of(rules)
    waiting = {ticket.id: ticket for ticket in tickets}
    every = list(counters)
    calling = [counter for counter in every if counter.calling]
    projection = Projection(at_us=now_us, valid_until_us=_class_changes(waiting.values(), now_us, rule))
    calls, ran_out = _play(waiting, calling, typical_us, default_us, now_us, rule, timed=True)
    called = {ticket_id for ticket_id, _counter, _at in calls}
    left = {tid: ticket for tid, ticket in waiting.items() if tid not in called}
    idle = [
        counter
        for counter in every
        if not counter.calling and any(ticket.service_id in counter.weights for ticket in left.values())
    ]
    later, _ = _play(left, idle, typical_us, default_us, now_us, rule, timed=False) if left else ([], {})
    orphans = _unserved(left, {ticket_id for ticket_id, _c, _a in later}, now_us, rule)
    services = {ticket.service_id for ticket in waiting.values()} | {s for c in every for s in c.weights}
    calling_pool = {s: frozenset(c.id for c in calling if s in c.weights) for s in services}
    idle_pool = {s: frozenset(c.id for c in idle if s in c.weights) for s in services}
    ahead = {**_ahead(calls, waiting, calling_pool), **_ahead(later, left, idle_pool)}
    for position, (ticket_id, counter_id, at) in enumerate(calls):
        projection.forecasts[ticket_id] = Forecast(position, counter_id, at, ahead[ticket_id])
        projection.sequence.append((ticket_id, counter_id, at))
        projection.keys.append((0, at, counter_id))
    for position, (ticket_id, counter_id, at) in enumerate(later, start=len(calls)):
        projection.forecasts[ticket_id] = Forecast(position, counter_id, None, ahead[ticket_id])
        projection.sequence.append((ticket_id, counter_id, None))
        projection.keys.append((1, at, counter_id))
    for position, (ticket_id, in_line) in enumerate(orphans, start=len(calls) + len(later)):
        projection.forecasts[ticket_id] = Forecast(position, None, None, in_line)
    by_service: dict[int, list[LineTicket]] = defaultdict(list)
    for ticket in waiting.values():
        by_service[ticket.service_id].append(ticket)
    for service_id in services:
        line = by_service.get(service_id, [])
        pool = calling_pool[service_id]
        projection.services[service_id] = ServiceOutlook(
            service_id=service_id,
            waiting=len(line),
            calling_counters=len(pool),
            next_call_in_us=min((ran_out.get(c, 0) for c in pool), default=None) if pool else None,
            longest_wait_us=max((now_us - t.queue_since_us for t in line), default=0),
        )
    return projection


__all__ = [
    "APPOINTMENT",
    "Forecast",
    "LineCounter",
    "LineIndex",
    "LineTicket",
    "Projection",
    "ServiceOutlook",
    "SiteProjection",
    "next_for",
    "pools",
    "project",
]
