"""The calendar Lượt accepts from people: local days of the years 2000 to 2100.

Every date or month a person gives — history and export filters, the audit log's dates, the holiday calendar,
booking days and slots, holidays and closed dates in settings, the one-stop export, the CLI's days — is within
FIRST_DAY … LAST_DAY. A date beyond is a typing mistake or a probe, and near the ends of Python's calendar (years
1 and 9999) the arithmetic of a day (its next day, its month's calendar, its UTC instant) fails with a 500.
"""

from __future__ import annotations

from datetime import date

from server.domain.errors import DateOutOfRange

FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2100, 12, 31)


def in_calendar(day: date) -> bool:
    return FIRST_DAY <= day <= LAST_DAY


def within_calendar(day: date) -> date:
    """`day` when it is within FIRST_DAY … LAST_DAY. Raises DateOutOfRange (400)."""
    if not in_calendar(day):
        raise DateOutOfRange(date=day.isoformat(), first=FIRST_DAY.isoformat(), last=LAST_DAY.isoformat())
    return day


def parse_day(text: str | None) -> date | None:
    """An ISO date (YYYY-MM-DD) within the calendar; None for text that is not a date. Raises DateOutOfRange."""
    try:
        day = date.fromisoformat(text or "")
    except ValueError:
        return None
    return within_calendar(day)


def parse_month(text: str | None) -> date | None:
    """The first day of a month written YYYY-MM, within the calendar; None for text that is not a month.
    Raises DateOutOfRange."""
    parts = (text or "").split("-")
    if len(parts) != 2 or not all(part.isascii() and part.isdigit() for part in parts) or len(parts[1]) > 2:
        return None
    year = int(parts[0]) if len(parts[0]) <= 8 else LAST_DAY.year + 1  # int() refuses 4300 digits and more
    month = int(parts[1])
    if not 1 <= month <= 12:
        return None
    if not FIRST_DAY.year <= year <= LAST_DAY.year:  # year 10000 too, which no date holds
        raise DateOutOfRange(date=text, first=FIRST_DAY.isoformat(), last=LAST_DAY.isoformat())
    return date(year, month, 1)


def shifted_month(first: date, months: int) -> date | None:
    """The first day of the month `months` after (or before) `first`'s; None beyond the calendar."""
    index = first.year * 12 + first.month - 1 + months
    year, month = divmod(index, 12)
    if not FIRST_DAY.year <= year <= LAST_DAY.year:
        return None
    return date(year, month + 1, 1)
