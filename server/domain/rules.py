"""Per-site queue options (stored in site.settings) with explicit defaults."""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from server.domain.hours import effective_hours
from server.domain.person_limits import PersonLimits
from server.domain.vocabulary import DEFAULT_RATING_REASONS, DEFAULT_RATING_SCALE, DEFAULT_REASON_SCORES


@dataclass(frozen=True)
class SiteRules:
    """How a site orders and handles its queues.

    Call order for a counter: (1) appointments within their slot window; (2) priority tickets and
    ordinary tickets that have waited `ordinary_aging_minutes` or more; (3) other ordinary tickets.
    After `priority_streak_limit` priority calls in a row at a counter, the longest-waiting ordinary
    ticket goes next — one with no priority class, those aged past `ordinary_aging_minutes` first — and
    its call starts the count again, so priority never starves ordinary citizens. Within a class: longest
    weighted wait first (wait × the counter's weight for the service); a transferred ticket keeps its time.
    Services take citizens within their opening hours, never on the site's `holidays`, unless the site sets
    `issue_outside_hours` (demonstrations).
    """

    priority_streak_limit: int = 3
    ordinary_aging_minutes: int = 30
    appointment_early_minutes: int = 10
    appointment_late_minutes: int = 15
    recall_limit: int = 3
    no_show_after_recall_limit: bool = True
    rating_scale: tuple[str, ...] = tuple(DEFAULT_RATING_SCALE)
    #: the counter's tablet may rate a ticket this many minutes after Finish; the phone until the local day ends
    rating_tablet_minutes: int = 30
    #: reason chips offered after one of `rating_reason_scores` (texts shown as they are, Vietnamese first)
    rating_reasons: tuple[str, ...] = DEFAULT_RATING_REASONS
    rating_reason_scores: tuple[str, ...] = DEFAULT_REASON_SCORES
    announcement_template: str = "Mời công dân có số thứ tự {so} đến quầy số {quay}"
    # A recall ({lan}: "hai" for the second call, "ba", "tư"…), worded so the hall hears it is not a new call.
    recall_template: str = "Mời lần thứ {lan} công dân có số thứ tự {so} đến quầy số {quay}"
    number_region: str = "north"
    digit_by_digit: bool = False
    holidays: tuple[str, ...] = ()  # ISO dates the site is closed all day (public holidays)
    booking_lapse_minutes: int = 60  # a booking not checked in this long after its slot lapses (issue 18)
    online_lapse_time: str = ""  # "HH:MM" local: online numbers still waiting then are cancelled; "" = at day end
    issue_outside_hours: bool = False  # demo: tickets at any hour, whatever the services' opening hours say
    # Counter number (as text) → the usernames of the clerks who may open it; a counter not listed is open to every
    # clerk of the site. Managers and admins may open any counter (they stand in).
    counter_clerks: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Numbers and bookings one person (phone or ID number) may hold a day here, and for one service; 0 = no limit
    # (server.domain.person_limits, issue 18).
    person_limit_per_day: int = 2
    person_limit_per_service: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, raw: dict[str, Any] | None, closed_days: list[str] | None = None) -> SiteRules:
        """The rules of a site's stored settings, with `closed_days` (ISO dates of the holiday table) added to
        its `holidays`; other keys go to `extra`.

        Settings are checked when saved (server.configuration.site_settings), but an older database may hold
        anything: a rule of the wrong type keeps its default (a text where a list of texts belongs counts as a
        list of one), and `counter_clerks` is read by `read_counter_clerks`. Never raises for a dict."""
        raw = dict(raw or {}) if isinstance(raw, dict) else {}
        values = {}
        for name in [k for k in raw if k in _KINDS]:
            value = _as_kind(raw.pop(name), _KINDS[name])
            if value is not _UNREADABLE:
                values[name] = value
        if closed_days:
            values["holidays"] = tuple(sorted({*values.get("holidays", ()), *closed_days}))
        return cls(**values, extra=raw)

    @property
    def person_limits(self) -> PersonLimits:
        """The per-person limits of the site (server.domain.person_limits)."""
        return PersonLimits(
            per_day=self.person_limit_per_day,
            per_service=self.person_limit_per_service,
            lapse_minutes=self.booking_lapse_minutes,
        )

    def hours_of(self, hours: dict[str, Any] | None) -> dict[str, Any]:
        """A service's opening hours with this site's calendar folded in (server.domain.hours)."""
        return effective_hours(hours, self.holidays, self.issue_outside_hours)

    def may_open(self, counter_number: int, username: str, role: str) -> bool:
        """Whether a staff member may open counter `counter_number` under `counter_clerks`."""
        allowed = self.counter_clerks.get(str(counter_number))
        return allowed is None or role != "clerk" or username in allowed


def read_counter_clerks(raw: Any) -> dict[str, tuple[str, ...]]:
    """`counter_clerks` as any database may hold it: counter number (as text, "01" read as "1") → usernames.

    One username alone counts as a list of one ({"1": "clerk01"} keeps counter 1 for clerk01, not for the letters
    of the name); null or [] keeps the counter for managers and admins only; an entry of any other shape (a
    number, an object) is left out, so its counter is open to every clerk, as is every counter when the value is
    not a mapping."""
    if not isinstance(raw, dict):
        return {}
    result: dict[str, tuple[str, ...]] = {}
    for key, names in raw.items():
        listed = [names] if isinstance(names, str) else [] if names is None else names
        if not isinstance(listed, list | tuple):
            continue
        number = str(key).strip()
        number = str(int(number)) if number.isascii() and number.isdigit() else number
        result[number] = tuple(dict.fromkeys(str(n).strip() for n in listed if str(n).strip()))
    return result


_UNREADABLE = object()


def _default_of(f: Any) -> Any:
    return f.default_factory() if f.default_factory is not MISSING else f.default


#: SiteRules field → its default's kind (bool, int, str, tuple of texts, or the counter_clerks mapping).
_KINDS: dict[str, Any] = {
    f.name: (dict if f.name == "counter_clerks" else type(_default_of(f)))
    for f in fields(SiteRules)
    if f.name != "extra"
}


def _as_kind(value: Any, kind: Any) -> Any:
    """`value` as a rule of `kind`, or _UNREADABLE (the rule keeps its default)."""
    if kind is dict:
        return read_counter_clerks(value)
    if kind is tuple:
        if isinstance(value, str):
            return (value,)
        return tuple(str(v) for v in value) if isinstance(value, list | tuple) else _UNREADABLE
    if kind is bool:
        return value if isinstance(value, bool) else _UNREADABLE
    if kind is int:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value if isinstance(value, int) and not isinstance(value, bool) else _UNREADABLE
    return value if isinstance(value, kind) else _UNREADABLE
