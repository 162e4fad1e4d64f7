"""Time sources. Everything reads time through a Clock so tests and the simulator can steer it.

Day boundaries are local (Asia/Ho_Chi_Minh): numbers restart at local midnight.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to (tests)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, instant: datetime) -> None:
        with self._lock:
            self._now = instant.astimezone(UTC)

    def advance(self, **delta: float) -> datetime:
        with self._lock:
            self._now += timedelta(**delta)
            return self._now


class ScaledClock:
    """Starts at `start` and runs `speed` times faster than real time (day simulation, demos)."""

    def __init__(self, start: datetime, speed: float, real: Clock | None = None) -> None:
        self._real = real or SystemClock()
        self._origin_real = self._real.now()
        self._origin = start.astimezone(UTC)
        self._speed = speed

    def now(self) -> datetime:
        return self._origin + (self._real.now() - self._origin_real) * self._speed


def local_date(instant: datetime) -> date:
    """The service date (local calendar day) of an instant."""
    return instant.astimezone(LOCAL_TZ).date()


def local_time_text(instant: datetime, fmt: str = "%d/%m/%Y %H:%M") -> str:
    return instant.astimezone(LOCAL_TZ).strftime(fmt)


def local_midnight(day: date) -> datetime:
    """The aware UTC instant at which a local day starts."""
    return datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ).astimezone(UTC)


class LocalTimeFormatter(logging.Formatter):
    """Log lines stamped in the centre's local time with its offset ("2026-12-02 01:00:00,123+07:00"), the time
    the boards and tickets show, whatever the machine's own zone."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        stamp = datetime.fromtimestamp(record.created, LOCAL_TZ)
        offset = stamp.strftime("%z")
        return f"{stamp:%Y-%m-%d %H:%M:%S},{stamp.microsecond // 1000:03d}{offset[:3]}:{offset[3:]}"


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
