"""The call order: who goes next at a counter (pure; the rule in words is in `SiteRules`).

Times are compared in whole microseconds, so the order never depends on floating-point rounding: Call next
(`call_order`) and the projection of the whole line (`server.domain.projection`) rank tickets with the very same
integers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from server.domain.rules import SiteRules

APPOINTMENT, PRIORITY, ORDINARY = 0, 1, 2
US_PER_MINUTE = 60_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def micros(instant: datetime) -> int:
    """An aware instant as whole microseconds since 1970 (exact)."""
    return (instant - _EPOCH) // _ONE_US


def instant(us: int) -> datetime:
    """The aware UTC instant of `micros`."""
    return _EPOCH + timedelta(microseconds=us)


class Reason(StrEnum):
    """Why a ticket stands where it does in a counter's order (shown to clerks)."""

    APPOINTMENT = "appointment"  # a booked slot inside its window
    PRIORITY = "priority"  # a priority class
    WAITED = "waited"  # an ordinary ticket that has waited `ordinary_aging_minutes` or more
    TRANSFER = "transfer"  # sent from another service, keeping its original time
    ORDINARY = "ordinary"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A waiting ticket as the rule sees it; `weight` is the calling counter's weight for its service."""

    id: int
    priority: str
    queue_since: datetime
    appointment_at: datetime | None = None
    weight: int = 1
    transferred: bool = False


@dataclass(frozen=True, slots=True)
class Rule:
    """`SiteRules` in microseconds: the windows and thresholds every comparison uses."""

    early_us: int
    late_us: int
    aging_us: int  # 0: ordinary tickets never age into the priority class
    streak_limit: int

    @classmethod
    def of(cls, rules: SiteRules) -> Rule:
        return cls(
            rules.appointment_early_minutes * US_PER_MINUTE,
            rules.appointment_late_minutes * US_PER_MINUTE,
            max(rules.ordinary_aging_minutes, 0) * US_PER_MINUTE,
            rules.priority_streak_limit,
        )

    def in_window(self, appointment_us: int | None, now_us: int) -> bool:
        return appointment_us is not None and appointment_us - self.early_us <= now_us <= appointment_us + self.late_us

    def aged(self, queue_since_us: int, now_us: int) -> bool:
        return self.aging_us > 0 and now_us - queue_since_us >= self.aging_us

    def klass(self, priority: str, queue_since_us: int, appointment_us: int | None, now_us: int) -> int:
        if self.in_window(appointment_us, now_us):
            return APPOINTMENT
        if priority or self.aged(queue_since_us, now_us):
            return PRIORITY
        return ORDINARY

    def extends_streak(self, priority: str, queue_since_us: int, appointment_us: int | None, now_us: int) -> bool:
        """Whether calling this ticket at `now_us` is one more of a counter's priority calls in a row: a call of a
        real priority class (`priority != ""`) ranked as such. Any other call ends the streak (back to 0): an
        appointment inside its window, and every ordinary ticket — also one aged into the priority class, which is
        the ordinary citizen the streak limit lets through (`SiteRules`: "the longest-waiting ordinary ticket goes
        next"); were it counted, the limit would be reached again at once and pass over the next ordinary one."""
        return bool(priority) and self.klass(priority, queue_since_us, appointment_us, now_us) == PRIORITY


def _times(candidate: Candidate) -> tuple[int, int | None]:
    appointment = candidate.appointment_at
    return micros(candidate.queue_since), None if appointment is None else micros(appointment)


def ticket_class(candidate: Candidate, now: datetime, rules: SiteRules) -> int:
    """APPOINTMENT (inside its slot window), PRIORITY (a priority class, or waited past the aging limit) or
    ORDINARY."""
    queue_since, appointment = _times(candidate)
    return Rule.of(rules).klass(candidate.priority, queue_since, appointment, micros(now))


def sort_key(
    klass: int, queue_since_us: int, appointment_us: int | None, weight: int, ticket_id: int, now_us: int
) -> tuple[int, int, int] | tuple[int, int, int, int]:
    """Smaller goes first: the class, then the earliest slot (appointments) or the longest weighted wait (wait ×
    the counter's weight for the service), then the earliest time, then the ticket id."""
    if klass == APPOINTMENT:
        assert appointment_us is not None
        return (klass, appointment_us, ticket_id)
    return (klass, -(now_us - queue_since_us) * max(weight, 1), queue_since_us, ticket_id)


def call_order(
    candidates: Iterable[Candidate], now: datetime, rules: SiteRules, priority_streak: int = 0
) -> list[Candidate]:
    """Candidates in the order a counter with `priority_streak` priority calls in a row should call them.

    Sorted by `sort_key`; then, after `priority_streak_limit` priority calls in a row, when the first would be of
    the priority class, the longest-waiting ordinary ticket goes first instead (`SiteRules`, README "Call order":
    "After 3 priority calls in a row at a counter the longest-waiting ordinary ticket goes next"). An ordinary
    ticket is one with no priority class (`priority == ""`), whether or not it has aged into the priority class
    (`ordinary_aging_minutes`): those that aged have waited longest, so they go before those that have not.
    `projection.next_for` plays the same rule."""
    rule = Rule.of(rules)
    now_us = micros(now)
    keyed = sorted(((_key(candidate, rule, now_us), candidate) for candidate in candidates), key=lambda pair: pair[0])
    ordered = [candidate for _key, candidate in keyed]
    if priority_streak >= rule.streak_limit and keyed and keyed[0][0][0] == PRIORITY:
        _ordinary_first(ordered)
    return ordered


def _key(candidate: Candidate, rule: Rule, now_us: int) -> tuple[int, ...]:
    """The candidate's `sort_key` at `now_us`."""
    queue_since, appointment = _times(candidate)
    klass = rule.klass(candidate.priority, queue_since, appointment, now_us)
    return sort_key(klass, queue_since, appointment, candidate.weight, candidate.id, now_us)


def _ordinary_first(ordered: list[Candidate]) -> None:
    """Moves the first ordinary ticket of `ordered` (a list in call order; ordinary: no priority class, aged or
    not) to the front, in place — the longest-waiting ordinary ticket, as the streak limit wants. No-op without
    one."""
    for index, candidate in enumerate(ordered):
        if not candidate.priority:
            ordered.insert(0, ordered.pop(index))
            return


def counts_toward_streak(candidate: Candidate, now: datetime, rules: SiteRules) -> bool:
    """A call of a real priority class (not an ordinary ticket aged into it) extends the streak (`Rule.extends_streak`;
    the projection counts with the same function)."""
    queue_since, appointment = _times(candidate)
    return Rule.of(rules).extends_streak(candidate.priority, queue_since, appointment, micros(now))


def reasons(candidate: Candidate, now: datetime, rules: SiteRules) -> tuple[Reason, ...]:
    """Why the ticket stands where it does: its class, and `transfer` when it kept its time from another line."""
    klass = ticket_class(candidate, now, rules)
    found: list[Reason] = []
    if klass == APPOINTMENT:
        found.append(Reason.APPOINTMENT)
    elif candidate.priority:
        found.append(Reason.PRIORITY)
    elif klass == PRIORITY:
        found.append(Reason.WAITED)
    if candidate.transferred:
        found.append(Reason.TRANSFER)
    return tuple(found) or (Reason.ORDINARY,)
