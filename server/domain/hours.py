"""Opening hours of a service, and the site's calendar around them.

A service's hours (``Service.opening_hours``; ``{}`` = always open)::

    {"days": [0, 1, 2, 3, 4],                              # weekdays (Mon = 0) open with `periods`
     "periods": [["07:30", "11:30"], ["13:00", "17:00"]],  # receiving periods, a break between them
     "by_day": {"5": [["07:30", "11:30"]]}}                # optional: other periods on a weekday ("5" = Saturday)

A weekday in ``by_day`` follows its own periods (an empty list closes it) whatever ``days`` says, so "Monday to
Friday with a lunch break, Saturday morning" stays readable by clients that know only ``days`` and ``periods``.
The site adds its calendar (``SiteRules``): public holidays (``holidays``, ISO dates: closed all day) and, for
demonstrations, ``issue_outside_hours`` (tickets at any hour). ``effective_hours`` folds both into the dict the
functions below read, as ``closed_dates`` or as ``{}``.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, time
from typing import Any

from server.calendar_bounds import FIRST_DAY, LAST_DAY, in_calendar
from server.clock import LOCAL_TZ
from server.domain.errors import N_

WEEKDAYS = range(7)
ALL_DAY = (("00:00", "23:59"),)


class HoursError(ValueError):
    """Unusable opening hours: `text` is an English msgid with {params}, translated at the edge."""

    def __init__(self, text: str, **params: Any) -> None:
        self.text = text
        self.params = params
        super().__init__(text.format(**params) if params else text)


def _parse(text: str) -> time:
    hours, minutes = str(text).split(":")
    return time(int(hours), int(minutes))


def parse_time(text: str) -> time:
    """``"HH:MM"`` → time. Raises HoursError for anything else."""
    try:
        return _parse(text)
    except (ValueError, TypeError) as exc:
        raise HoursError(N_("{time} is not a time of day (HH:MM)."), time=text) from exc


def _check_periods(periods: Any) -> None:
    """Each period starts before it ends, and periods do not overlap."""
    if not isinstance(periods, list | tuple):
        raise HoursError(N_("Periods must be a list of [start, end] pairs."))
    spans = []
    for period in periods:
        if not isinstance(period, list | tuple) or len(period) != 2:
            raise HoursError(N_("Periods must be a list of [start, end] pairs."))
        start, end = parse_time(period[0]), parse_time(period[1])
        if start >= end:
            raise HoursError(N_("The period {start}–{end} ends before it starts."), start=period[0], end=period[1])
        spans.append((start, end, period))
    spans.sort(key=lambda span: span[0])
    for (_s, end, first), (start, _e, second) in itertools.pairwise(spans):
        if start < end:
            raise HoursError(
                N_("The periods {first} and {second} overlap."),
                first="–".join(first),
                second="–".join(second),
            )


def validate_opening_hours(hours: dict[str, Any]) -> None:
    """Raises HoursError (a ValueError) with the reason when the structure is not usable."""
    if not hours:
        return
    if not isinstance(hours, dict):
        raise HoursError(N_("Opening hours must be an object."))
    days = hours.get("days", list(WEEKDAYS))
    if not isinstance(days, list | tuple) or not all(isinstance(d, int) and 0 <= d <= 6 for d in days):
        raise HoursError(N_("Days must be numbers 0 (Monday) to 6 (Sunday)."))
    _check_periods(hours.get("periods", []))
    by_day = hours.get("by_day") or {}
    if not isinstance(by_day, dict):
        raise HoursError(N_("by_day must map a weekday (0–6) to its periods."))
    for key, periods in by_day.items():
        if str(key) not in {str(d) for d in WEEKDAYS}:
            raise HoursError(N_("Days must be numbers 0 (Monday) to 6 (Sunday)."))
        _check_periods(periods)
    for text in hours.get("closed_dates") or ():
        parse_date(text)


def parse_date(text: Any) -> date:
    """An ISO date (YYYY-MM-DD) within the calendar (server.calendar_bounds: 2000–2100). Raises HoursError."""
    try:
        day = date.fromisoformat(str(text))
    except ValueError as exc:
        raise HoursError(N_("{date} is not a date (YYYY-MM-DD)."), date=text) from exc
    if not in_calendar(day):
        raise HoursError(
            N_("{date} is outside the dates accepted ({first} to {last})."),
            date=text,
            first=FIRST_DAY.isoformat(),
            last=LAST_DAY.isoformat(),
        )
    return day


def periods_on(hours: dict[str, Any], day: date) -> list[tuple[time, time]]:
    """The receiving periods of a local day (empty: closed that day). `hours` must not be empty."""
    if day.isoformat() in (hours.get("closed_dates") or ()):
        return []
    by_day = hours.get("by_day") or {}
    key = str(day.weekday())
    if key in by_day:
        raw = by_day[key]
    elif day.weekday() in hours.get("days", WEEKDAYS):
        raw = hours.get("periods") or ALL_DAY
    else:
        return []
    return [(_parse(start), _parse(end)) for start, end in raw]


def is_open(hours: dict[str, Any] | None, instant: datetime) -> bool:
    """Whether a service takes citizens at an instant (empty hours = always open)."""
    if not hours:
        return True
    local = instant.astimezone(LOCAL_TZ)
    now = local.time()
    return any(start <= now < end for start, end in periods_on(hours, local.date()))


def opens_later_today(hours: dict[str, Any] | None, instant: datetime) -> datetime | None:
    """The next start of a receiving period later on the same local day, or None (closed for the day, or open
    now, or always open)."""
    if not hours or is_open(hours, instant):
        return None
    local = instant.astimezone(LOCAL_TZ)
    for start in sorted(start for start, _end in periods_on(hours, local.date())):
        if start > local.time():
            return datetime.combine(local.date(), start, LOCAL_TZ)
    return None


def effective_hours(hours: dict[str, Any] | None, holidays: tuple[str, ...] = (), any_hour: bool = False) -> dict:
    """A service's hours with its site's calendar folded in: ``{}`` (always open) when the site takes tickets at
    any hour, else the hours plus the site's holidays as ``closed_dates``."""
    if any_hour:
        return {}
    hours = dict(hours or {})
    if holidays:
        hours["closed_dates"] = sorted({*(hours.get("closed_dates") or ()), *holidays})
    return hours


def weekly_table(hours: dict[str, Any] | None) -> list[list[tuple[str, str]]]:
    """The hours as seven lists of periods (Monday first; empty = closed); always open = every day 00:00–23:59."""
    if not hours:
        return [list(ALL_DAY) for _ in WEEKDAYS]
    by_day = hours.get("by_day") or {}
    table = []
    for day in WEEKDAYS:
        if str(day) in by_day:
            raw = by_day[str(day)]
        elif day in hours.get("days", WEEKDAYS):
            raw = hours.get("periods") or ALL_DAY
        else:
            raw = []
        table.append([(str(start), str(end)) for start, end in raw])
    return table


def from_weekly_table(table: list[list[tuple[str, str]]]) -> dict[str, Any]:
    """Seven lists of periods → the stored form: the most common set of periods as ``days`` + ``periods``, the
    other open days in ``by_day``. Every day 00:00–23:59 (or nothing open) … stays as given."""
    sets = [tuple(tuple(p) for p in day) for day in table]
    open_sets = [s for s in sets if s]
    if not open_sets:
        return {"days": [], "periods": []}
    if all(s == ALL_DAY for s in sets):
        return {}
    common = max(open_sets, key=lambda s: (open_sets.count(s), -open_sets.index(s)))
    result: dict[str, Any] = {
        "days": [d for d, s in enumerate(sets) if s == common],
        "periods": [list(p) for p in common],
    }
    other = {str(d): [list(p) for p in s] for d, s in enumerate(sets) if s and s != common}
    if other:
        result["by_day"] = other
    return result
