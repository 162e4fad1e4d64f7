"""Expected wait: people ahead × typical service time ÷ counters serving."""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import median


def typical_service_minutes(recent_minutes: Sequence[float], default_minutes: float) -> float:
    """Median of recent service times (robust to a forgotten 'finish'), or the service default."""
    usable = [m for m in recent_minutes if 0 < m < 240]
    if len(usable) < 3:
        return default_minutes
    return float(median(usable))


def minutes_per_place(service_minutes: float, open_counters: float) -> float:
    return service_minutes / max(open_counters, 1.0)


def estimated_wait_minutes(waiting_ahead: int, service_minutes: float, open_counters: float) -> int:
    """Whole minutes until a ticket with `waiting_ahead` people before it is called."""
    if waiting_ahead <= 0:
        return 0
    return math.ceil(waiting_ahead * minutes_per_place(service_minutes, open_counters))
