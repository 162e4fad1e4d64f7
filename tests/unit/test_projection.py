"""The projection's pick is Call next's rule, and its figures follow from its own call sequence (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.ordering import Candidate, call_order, counts_toward_streak, instant, micros
from server.domain.projection import LineCounter, LineIndex, LineTicket, next_for, project
from server.domain.rules import SiteRules

NOW = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)
NOW_US = micros(NOW)
MINUTE = 60_000_000


@st.composite
def lines(draw):
    services = draw(st.integers(1, 4))
    rules = SiteRules(
        priority_streak_limit=draw(st.integers(0, 4)),
        ordinary_aging_minutes=draw(st.sampled_from([0, 10, 30])),
        appointment_early_minutes=draw(st.sampled_from([0, 10])),
        appointment_late_minutes=draw(st.sampled_from([0, 15])),
    )
    tickets = []
    for ticket_id in range(1, draw(st.integers(0, 25)) + 1):
        waited = draw(st.integers(0, 90)) * MINUTE // draw(st.sampled_from([1, 2, 4]))
        slot = draw(st.one_of(st.none(), st.integers(-40, 40)))
        tickets.append(
            LineTicket(
                id=ticket_id,
                service_id=draw(st.integers(1, services)),
                priority=draw(st.sampled_from(["", "", "", "elderly", "merit"])),
                queue_since_us=NOW_US - waited,
                appointment_us=None if slot is None else NOW_US + slot * MINUTE,
                transferred=draw(st.booleans()),
            )
        )
    counters = []
    for counter_id in range(1, draw(st.integers(1, 5)) + 1):
        served = draw(st.sets(st.integers(1, services), min_size=1))
        weights = {s: draw(st.sampled_from([1, 1, 2, 3])) for s in served}
        counters.append(
            LineCounter(
                id=counter_id,
                weights=weights,
                calling=draw(st.booleans()) or counter_id == 1,
                priority_streak=draw(st.integers(0, 4)),
                free_in_us=draw(st.integers(0, 12)) * MINUTE // 2,
            )
        )
    typical = {s: draw(st.integers(1, 15)) * MINUTE for s in range(1, services + 1)}
    return tickets, counters, typical, rules


def _candidate(ticket: LineTicket, weight: int) -> Candidate:
    appointment = None if ticket.appointment_us is None else instant(ticket.appointment_us)
    return Candidate(ticket.id, ticket.priority, instant(ticket.queue_since_us), appointment, weight)


@settings(max_examples=300, deadline=None)
@given(lines(), st.integers(0, 60))
def test_the_projection_picks_exactly_what_call_next_would(line, minutes_later):
    tickets, counters, _typical, rules = line
    groups = LineIndex(counters)
    for ticket in tickets:
        groups.add(ticket)
    at = NOW + timedelta(minutes=minutes_later)
    for counter in counters:
        candidates = [_candidate(t, counter.weights[t.service_id]) for t in tickets if t.service_id in counter.weights]
        expected = call_order(candidates, at, rules, counter.priority_streak)
        assert next_for(groups, counter.id, micros(at), _rule(rules), counter.priority_streak) == (
            expected[0].id if expected else None
        )


def _rule(rules):
    from server.domain.ordering import Rule

    return Rule.of(rules)


@settings(max_examples=300, deadline=None)
@given(lines())
def test_people_ahead_are_the_calls_before_on_counters_that_can_serve_the_ticket(line):
    tickets, counters, typical, rules = line
    projection = project(tickets, counters, typical, NOW_US, rules)
    assert set(projection.forecasts) == {t.id for t in tickets}
    by_id = {t.id: t for t in tickets}
    calling = [c for c in counters if c.calling]
    for ticket in tickets:
        if not any(ticket.service_id in c.weights for c in counters):  # nobody serves it: its own line only
            forecast = projection.forecasts[ticket.id]
            assert forecast.counter_id is None and forecast.call_in_us is None
            assert forecast.ahead < sum(1 for t in tickets if t.service_id == ticket.service_id)
    for position, (ticket_id, counter_id, call_in) in enumerate(projection.sequence):
        forecast = projection.forecasts[ticket_id]
        assert forecast.position == position and forecast.counter_id == counter_id
        service = by_id[ticket_id].service_id
        served_by_calling = [c.id for c in calling if service in c.weights]
        if call_in is not None:
            pool = set(served_by_calling)
            before = [s for s in projection.sequence[:position] if s[2] is not None]
        else:
            assert not served_by_calling  # no promise while a calling counter could serve it
            pool = {c.id for c in counters if not c.calling and service in c.weights}
            before = [s for s in projection.sequence[:position] if s[2] is None]
        assert forecast.ahead == sum(1 for _t, counter, _a in before if counter in pool)
    times = [s[2] for s in projection.sequence if s[2] is not None]
    assert times == sorted(times)


def test_with_no_counter_open_nobody_is_promised_minutes_but_people_ahead_are_counted():
    tickets = [LineTicket(i, 1, "", NOW_US - (10 - i) * MINUTE) for i in range(1, 4)]
    counters = [LineCounter(1, {1: 1}, calling=False), LineCounter(2, {1: 1}, calling=False)]
    projection = project(tickets, counters, {1: 6 * MINUTE}, NOW_US, SiteRules())
    assert [projection.forecasts[i].ahead for i in (1, 2, 3)] == [0, 1, 2]
    assert all(projection.forecasts[i].call_in_us is None for i in (1, 2, 3))
    assert projection.services[1].next_call_in_us is None and projection.services[1].calling_counters == 0


def test_a_shared_counter_puts_other_services_tickets_ahead():
    # counters 1-3 serve services 1-3; three tickets of service 1, then one each of 2 and 3, then one more of 1
    tickets = [LineTicket(i, s, "", NOW_US - (10 - i) * MINUTE) for i, s in enumerate([1, 1, 1, 2, 3, 1], start=1)]
    counters = [LineCounter(c, {1: 1, 2: 1, 3: 1}, calling=True) for c in (1, 2, 3)]
    projection = project(tickets, counters, {1: 6 * MINUTE, 2: 6 * MINUTE, 3: 6 * MINUTE}, NOW_US, SiteRules())
    assert [projection.forecasts[i].ahead for i in range(1, 7)] == [0, 1, 2, 3, 4, 5]
    assert [projection.forecasts[i].call_in_us for i in range(1, 7)] == [0, 0, 0] + [6 * MINUTE] * 3


def _call_next_play(tickets: list[LineTicket], counter: LineCounter, typical_us: int, rules: SiteRules) -> list[int]:
    """The reference play of one calling counter: each time it is free it takes `call_order(...)[0]` and moves its
    streak as Call next does (`counts_toward_streak`), then keeps the citizen `typical_us`."""
    left = [_candidate(t, counter.weights[t.service_id]) for t in tickets if t.service_id in counter.weights]
    streak, at, calls = counter.priority_streak, NOW, []
    while left:
        chosen = call_order(left, at, rules, streak)[0]
        streak = streak + 1 if counts_toward_streak(chosen, at, rules) else 0
        left.remove(chosen)
        calls.append(chosen.id)
        at += timedelta(microseconds=typical_us)
    return calls


def _sequence(tickets: list[LineTicket], counter: LineCounter, typical_us: int, rules: SiteRules) -> list[int]:
    projection = project(tickets, [counter], {t.service_id: typical_us for t in tickets}, NOW_US, rules)
    return [ticket_id for ticket_id, _counter, _at in projection.sequence]


def test_after_the_streak_the_projection_calls_the_aged_ordinary_ticket_before_a_new_one():
    """D5: elderly P1–P3, ordinary X, 33 minutes, ordinary Y. Call next and the projection both give P1, P2, P3, X,
    Y — the longest-waiting ordinary ticket after the streak — and then, the streak ended by X, P4 and P5 before
    the next ordinary ticket."""
    rules = SiteRules(priority_streak_limit=3, ordinary_aging_minutes=30)
    counter = LineCounter(1, {1: 1}, calling=True)
    elderly = [LineTicket(i, 1, "elderly", NOW_US - (34 * MINUTE - i)) for i in range(1, 6)]
    aged, new = LineTicket(6, 1, "", NOW_US - 33 * MINUTE), LineTicket(7, 1, "", NOW_US)
    for line, expected in ([*elderly[:3], aged, new], [1, 2, 3, 6, 7]), ([*elderly, aged, new], [1, 2, 3, 6, 4, 5, 7]):
        assert _call_next_play(line, counter, 4 * MINUTE, rules) == expected
        assert _sequence(line, counter, 4 * MINUTE, rules) == expected
        groups = LineIndex([counter])
        for ticket in line[3:]:  # what is left once the first three are called
            groups.add(ticket)
        assert next_for(groups, 1, NOW_US, _rule(rules), 3) == 6


@settings(max_examples=300, deadline=None)
@given(lines())
def test_one_counter_s_projected_sequence_is_call_next_played_again_and_again(line):
    """The projection's calls for a lone calling counter are Call next's, one after the other, streak included."""
    tickets, counters, typical, rules = line
    counter = LineCounter(1, counters[0].weights, calling=True, priority_streak=counters[0].priority_streak)
    served = [t for t in tickets if t.service_id in counter.weights]
    one_typical = typical[1]
    for ticket in served:
        typical[ticket.service_id] = one_typical
    projection = project(served, [counter], typical, NOW_US, rules)
    assert [t for t, _c, _a in projection.sequence] == _call_next_play(served, counter, one_typical, rules)
