"""The wait promised at issue follows the counters: a line shared by several services, busy counters."""

from __future__ import annotations

from server.domain.estimates import pool_waits, residual_minutes, typical_service_minutes


def test_idle_counters_take_the_first_tickets_at_once_then_the_line_moves_at_their_pace():
    waits, next_wait = pool_waits([0, 0], [6, 6, 6, 6])
    assert waits == [0, 0, 6, 6]
    assert next_wait == 12  # 4 ahead × 6 min ÷ 2 counters, as the simple formula says


def test_tickets_of_other_services_at_the_same_counters_are_waited_for_too():
    # one counter, a 10-minute citizen of another service ahead, then a 3-minute one
    waits, next_wait = pool_waits([0], [10, 3])
    assert waits == [0, 10]
    assert next_wait == 13


def test_a_busy_counter_frees_up_after_its_remaining_time():
    waits, next_wait = pool_waits([4, 1], [5])
    assert waits == [1]
    assert next_wait == 4


def test_a_citizen_served_longer_than_usual_still_holds_the_counter_a_little():
    assert residual_minutes(8, 2) == 6
    assert residual_minutes(8, 20) == 2
    assert residual_minutes(8, 0) == 8


def test_typical_time_is_a_trimmed_mean_of_recent_times():
    assert typical_service_minutes([5] * 18 + [1, 200], default_minutes=8) == 5  # the extremes are dropped
    assert typical_service_minutes([4, 6, 11], default_minutes=8) == 7  # mean, not median (6)
