"""The wait promised follows the counters: a line shared by several services, busy counters (the projection)."""

from __future__ import annotations

from datetime import UTC, datetime

from server.domain.estimates import residual_minutes, typical_service_minutes
from server.domain.ordering import micros
from server.domain.projection import LineCounter, LineTicket, project
from server.domain.rules import SiteRules

NOW_US = micros(datetime(2026, 11, 18, 2, 0, tzinfo=UTC))
MINUTE = 60_000_000


def _tickets(*services: int) -> list[LineTicket]:
    return [LineTicket(i, s, "", NOW_US - (100 - i) * MINUTE // 10) for i, s in enumerate(services, start=1)]


def _waits(projection, count: int) -> list[float]:
    return [projection.forecasts[i].call_in_us / MINUTE for i in range(1, count + 1)]


def test_idle_counters_take_the_first_tickets_at_once_then_the_line_moves_at_their_pace():
    counters = [LineCounter(1, {1: 1}, True), LineCounter(2, {1: 1}, True)]
    projection = project(_tickets(1, 1, 1, 1), counters, {1: 6 * MINUTE}, NOW_US, SiteRules())
    assert _waits(projection, 4) == [0, 0, 6, 6]
    assert projection.services[1].next_call_in_us == 12 * MINUTE  # 4 ahead × 6 min ÷ 2 counters


def test_tickets_of_other_services_at_the_same_counters_are_waited_for_too():
    # one counter, a 10-minute citizen of another service ahead, then a 3-minute one
    counters = [LineCounter(1, {1: 1, 2: 1}, True)]
    projection = project(_tickets(2, 1), counters, {1: 3 * MINUTE, 2: 10 * MINUTE}, NOW_US, SiteRules())
    assert _waits(projection, 2) == [0, 10]
    assert projection.services[1].next_call_in_us == 13 * MINUTE


def test_a_busy_counter_frees_up_after_its_remaining_time():
    counters = [LineCounter(1, {1: 1}, True, free_in_us=4 * MINUTE), LineCounter(2, {1: 1}, True, free_in_us=MINUTE)]
    projection = project(_tickets(1), counters, {1: 5 * MINUTE}, NOW_US, SiteRules())
    assert _waits(projection, 1) == [1]
    assert projection.services[1].next_call_in_us == 4 * MINUTE


def test_a_citizen_served_longer_than_usual_still_holds_the_counter_a_little():
    assert residual_minutes(8, 2) == 6
    assert residual_minutes(8, 20) == 2
    assert residual_minutes(8, 0) == 8


def test_typical_time_is_a_trimmed_mean_of_recent_times():
    assert typical_service_minutes([5] * 18 + [1, 200], default_minutes=8) == 5  # the extremes are dropped
    assert typical_service_minutes([4, 6, 11], default_minutes=8) == 7  # mean, not median (6)
