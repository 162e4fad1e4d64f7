"""Opening hours of a service: {"days": [0..6 (Mon=0)], "periods": [["07:30", "11:30"], …]}."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from server.clock import LOCAL_TZ


def _parse(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def validate_opening_hours(hours: dict[str, Any]) -> None:
    """Raises ValueError when the structure is not usable."""
    if not hours:
        return
    days = hours.get("days", list(range(7)))
    if not all(isinstance(d, int) and 0 <= d <= 6 for d in days):
        raise ValueError("days must be numbers 0 (Monday) to 6 (Sunday)")
    for period in hours.get("periods", []):
        start, end = _parse(period[0]), _parse(period[1])
        if start >= end:
            raise ValueError(f"period {period[0]}–{period[1]} ends before it starts")


def is_open(hours: dict[str, Any] | None, instant: datetime) -> bool:
    """Whether a service takes citizens at an instant (empty hours = always open)."""
    if not hours:
        return True
    local = instant.astimezone(LOCAL_TZ)
    if local.weekday() not in hours.get("days", list(range(7))):
        return False
    periods = hours.get("periods") or [["00:00", "23:59"]]
    now = local.time()
    return any(_parse(start) <= now < _parse(end) for start, end in periods)


def opens_later_today(hours: dict[str, Any] | None, instant: datetime) -> datetime | None:
    """The next start of a receiving period later on the same local day, or None (closed for the day, or open
    now, or always open)."""
    if not hours or is_open(hours, instant):
        return None
    local = instant.astimezone(LOCAL_TZ)
    if local.weekday() not in hours.get("days", list(range(7))):
        return None
    starts = sorted(_parse(start) for start, _end in hours.get("periods") or [])
    for start in starts:
        if start > local.time():
            return datetime.combine(local.date(), start, LOCAL_TZ)
    return None
