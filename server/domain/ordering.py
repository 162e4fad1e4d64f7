"""The call order: who goes next at a counter (pure; see SiteRules for the rule in words)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from server.domain.rules import SiteRules

APPOINTMENT, PRIORITY, ORDINARY = 0, 1, 2


@dataclass(frozen=True)
class Candidate:
    id: int
    priority: str
    queue_since: datetime
    appointment_at: datetime | None = None
    weight: int = 1


def ticket_class(candidate: Candidate, now: datetime, rules: SiteRules) -> int:
    if candidate.appointment_at is not None:
        opens = candidate.appointment_at - timedelta(minutes=rules.appointment_early_minutes)
        closes = candidate.appointment_at + timedelta(minutes=rules.appointment_late_minutes)
        if opens <= now <= closes:
            return APPOINTMENT
    if candidate.priority:
        return PRIORITY
    if rules.ordinary_aging_minutes > 0 and now - candidate.queue_since >= timedelta(
        minutes=rules.ordinary_aging_minutes
    ):
        return PRIORITY
    return ORDINARY


def _sort_key(candidate: Candidate, now: datetime, rules: SiteRules) -> tuple:
    klass = ticket_class(candidate, now, rules)
    if klass == APPOINTMENT:
        assert candidate.appointment_at is not None
        return (klass, candidate.appointment_at.timestamp(), candidate.id)
    weighted_wait = (now - candidate.queue_since).total_seconds() * max(candidate.weight, 1)
    return (klass, -weighted_wait, candidate.queue_since.timestamp(), candidate.id)


def call_order(
    candidates: Iterable[Candidate], now: datetime, rules: SiteRules, priority_streak: int = 0
) -> list[Candidate]:
    """Candidates in the order a counter should call them."""
    ordered = sorted(candidates, key=lambda c: _sort_key(c, now, rules))
    if priority_streak >= rules.priority_streak_limit and ordered:
        first_class = ticket_class(ordered[0], now, rules)
        if first_class == PRIORITY:
            for index, candidate in enumerate(ordered):
                if ticket_class(candidate, now, rules) == ORDINARY:
                    ordered.insert(0, ordered.pop(index))
                    break
    return ordered


def counts_toward_streak(candidate: Candidate, now: datetime, rules: SiteRules) -> bool:
    return ticket_class(candidate, now, rules) == PRIORITY and bool(candidate.priority)
