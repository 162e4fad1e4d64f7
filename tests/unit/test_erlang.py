"""Erlang C staffing: textbook values and the behaviour managers rely on."""

from __future__ import annotations

import math

import pytest

from server.stats.erlang import counters_needed, erlang_c, mean_wait_minutes, share_within


def test_erlang_c_matches_the_textbook_value():
    # 2 servers, load 1 erlang: C = (1/2! · 2/(2−1)) / (1 + 1 + 1) = 1/3
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    # classic call-centre example: 10 erlangs on 11 agents waits 68.2 % of the time
    assert erlang_c(11, 10.0) == pytest.approx(0.6821, abs=1e-4)


def test_a_single_counter_is_the_m_m_1_queue():
    # M/M/1: P(wait) = ρ, mean wait = ρ·S/(1 − ρ)
    assert erlang_c(1, 0.5) == pytest.approx(0.5)
    assert mean_wait_minutes(1, 5, 6) == pytest.approx(0.5 * 6 / 0.5)
    assert share_within(1, 5, 6, 0) == pytest.approx(0.5)


def test_counters_that_cannot_keep_up_always_make_citizens_wait():
    assert erlang_c(3, 3.0) == 1.0 and erlang_c(2, 5.0) == 1.0
    assert share_within(3, 30, 6, 15) == 0.0  # 30/h × 6 min = 3 erlangs on 3 counters
    assert math.isinf(mean_wait_minutes(3, 30, 6))


def test_counters_needed_is_the_smallest_number_that_keeps_the_target():
    # 60 citizens an hour taking 6 minutes = 6 erlangs; target 15 minutes for 80 %
    needed = counters_needed(60, 6, 15, 0.8)
    assert share_within(needed, 60, 6, 15) >= 0.8 > share_within(needed - 1, 60, 6, 15)
    assert needed == 7


def test_nobody_arriving_needs_no_counter_and_more_arrivals_never_need_fewer():
    assert counters_needed(0, 6, 15) == 0
    series = [counters_needed(rate, 8, 10, 0.9) for rate in range(0, 200, 10)]
    assert series == sorted(series) and series[-1] > series[1] >= 1


def test_a_stricter_target_or_share_needs_at_least_as_many_counters():
    assert counters_needed(40, 10, 5, 0.8) >= counters_needed(40, 10, 15, 0.8)
    assert counters_needed(40, 10, 15, 0.95) >= counters_needed(40, 10, 15, 0.8)
