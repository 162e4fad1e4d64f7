"""The projection's pick is Call next's rule, and its figures follow from its own call sequence (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.ordering import Candidate, call_order, instant, micros
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
