"""The call order rule, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.domain.ordering import Candidate, call_order
from server.domain.rules import SiteRules

NOW = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)
RULES = SiteRules(priority_streak_limit=3, ordinary_aging_minutes=30)


def ticket(id: int, minutes_ago: float, priority: str = "", weight: int = 1, slot_in: float | None = None) -> Candidate:
    slot = NOW + timedelta(minutes=slot_in) if slot_in is not None else None
    return Candidate(id, priority, NOW - timedelta(minutes=minutes_ago), slot, weight)


def ids(order: list[Candidate]) -> list[int]:
    return [c.id for c in order]


def test_oldest_ordinary_ticket_goes_first():
    assert ids(call_order([ticket(1, 5), ticket(2, 10), ticket(3, 1)], NOW, RULES)) == [2, 1, 3]


def test_priority_classes_go_before_ordinary_tickets():
    order = call_order([ticket(1, 20), ticket(2, 1, "elderly"), ticket(3, 2, "merit")], NOW, RULES)
    assert ids(order) == [3, 2, 1]


def test_after_the_streak_limit_the_oldest_ordinary_ticket_goes_next():
    candidates = [ticket(1, 20), ticket(2, 1, "elderly"), ticket(3, 2, "pregnant")]
    assert ids(call_order(candidates, NOW, RULES, priority_streak=2))[0] == 3
    assert ids(call_order(candidates, NOW, RULES, priority_streak=3))[0] == 1


def test_an_ordinary_ticket_waiting_past_the_aging_limit_counts_as_priority():
    order = call_order([ticket(1, 45), ticket(2, 1, "elderly")], NOW, RULES)
    assert ids(order) == [1, 2]


def test_aging_can_be_switched_off():
    order = call_order([ticket(1, 45), ticket(2, 1, "elderly")], NOW, SiteRules(ordinary_aging_minutes=0))
    assert ids(order) == [2, 1]


def test_an_appointment_inside_its_slot_window_goes_first():
    due = ticket(1, 1, slot_in=5)
    early = ticket(2, 2, slot_in=60)
    order = call_order([ticket(3, 20), ticket(4, 10, "elderly"), due, early], NOW, RULES)
    assert ids(order) == [1, 4, 3, 2]


def test_an_appointment_past_its_late_limit_waits_like_anyone():
    late = ticket(1, 3, slot_in=-40)
    assert ids(call_order([ticket(2, 10), late], NOW, RULES)) == [2, 1]


def test_the_counter_weight_multiplies_the_wait():
    # 4 min at weight 3 (12 weighted) beats 10 min at weight 1
    order = call_order([ticket(1, 10, weight=1), ticket(2, 4, weight=3)], NOW, RULES)
    assert ids(order) == [2, 1]


def test_ties_fall_back_to_issue_order():
    assert ids(call_order([ticket(2, 5), ticket(1, 5)], NOW, RULES)) == [1, 2]
