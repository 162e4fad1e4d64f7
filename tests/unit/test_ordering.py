"""The call order rule, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.domain.ordering import Candidate, call_order, counts_toward_streak
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


def _play(candidates: list[Candidate], rules: SiteRules = RULES, streak: int = 0) -> list[int]:
    """One counter calls everyone at NOW: each call takes `call_order(...)[0]` and moves the streak as Call next
    does (`counts_toward_streak`)."""
    left, calls = list(candidates), []
    while left:
        chosen = call_order(left, NOW, rules, streak)[0]
        streak = streak + 1 if counts_toward_streak(chosen, NOW, rules) else 0
        left.remove(chosen)
        calls.append(chosen.id)
    return calls


def test_after_the_streak_an_ordinary_ticket_that_aged_goes_before_one_just_issued():
    """D5: the longest-waiting ordinary ticket goes next (README "Call order"), also when it has aged into the
    priority class and stands first itself."""
    aged, new = ticket(4, 33), ticket(5, 0)
    assert ids(call_order([new, aged], NOW, RULES, priority_streak=3)) == [4, 5]
    # a real priority ticket first: the aged ordinary one goes before it, and before the new one
    elderly = ticket(3, 40, "elderly")
    assert ids(call_order([new, elderly, aged], NOW, RULES, priority_streak=3)) == [4, 3, 5]


def test_after_the_streak_with_only_aged_ordinary_tickets_the_oldest_of_them_goes_next():
    candidates = [ticket(1, 50, "elderly"), ticket(2, 35), ticket(3, 31)]
    assert ids(call_order(candidates, NOW, RULES, priority_streak=2)) == [1, 2, 3]
    assert ids(call_order(candidates, NOW, RULES, priority_streak=3)) == [2, 1, 3]


def test_the_reported_line_is_called_priority_three_then_the_longest_waiting_ordinary():
    """D5 as reported: elderly P1–P3, ordinary X, 33 minutes, ordinary Y → P1, P2, P3, X, Y."""
    line = [ticket(1, 33.3, "elderly"), ticket(2, 33.2, "elderly"), ticket(3, 33.1, "elderly"), ticket(4, 33)]
    assert _play([*line, ticket(5, 0)]) == [1, 2, 3, 4, 5]


def test_an_aged_ordinary_call_ends_the_streak():
    """The aged ordinary citizen let through after the streak is an ordinary call: the streak starts again at 0, so
    two more priority calls come before the next ordinary ticket (were it counted, Y would jump P4 and P5)."""
    elderly = [ticket(i, 34 - i / 10, "elderly") for i in range(1, 6)]
    aged, new = ticket(6, 33), ticket(7, 0)
    assert not counts_toward_streak(aged, NOW, RULES)
    assert counts_toward_streak(elderly[0], NOW, RULES)
    assert _play([*elderly, aged, new]) == [1, 2, 3, 6, 4, 5, 7]


def test_a_priority_ticket_called_inside_its_appointment_window_ends_the_streak():
    assert not counts_toward_streak(ticket(1, 5, "elderly", slot_in=0), NOW, RULES)
