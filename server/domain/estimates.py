"""Expected wait: the line ahead, played through the counters that serve it (pool_waits), each citizen
holding a counter for the typical minutes of their service; the simple form is people ahead × typical
minutes ÷ counters serving."""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from statistics import fmean


def typical_service_minutes(recent_minutes: Sequence[float], default_minutes: float) -> float:
    """Mean of recent times at the counter, the longest and shortest tenth left out (robust to a forgotten
    'finish'), or the service default. A mean, not a median: service times have a long tail, and a line
    moves at the mean (the median under-promised every wait by about a tenth in `luot simulate`)."""
    usable = sorted(m for m in recent_minutes if 0 < m < 240)
    if len(usable) < 3:
        return default_minutes
    trim = len(usable) // 10
    return float(fmean(usable[trim : len(usable) - trim]))


def minutes_per_place(service_minutes: float, open_counters: float) -> float:
    return service_minutes / max(open_counters, 1.0)


def estimated_wait_minutes(waiting_ahead: int, service_minutes: float, open_counters: float) -> int:
    """Whole minutes until a ticket with `waiting_ahead` people before it is called."""
    if waiting_ahead <= 0:
        return 0
    return math.ceil(waiting_ahead * minutes_per_place(service_minutes, open_counters))


def residual_minutes(typical_minutes: float, elapsed_minutes: float) -> float:
    """Expected time left for a counter busy with one citizen since `elapsed_minutes` (from the call); one
    kept past the typical time still needs a little (service times have long tails)."""
    return max(typical_minutes - elapsed_minutes, 0.25 * typical_minutes)


def pool_waits(busy_minutes: Sequence[float], ticket_minutes: Sequence[float]) -> tuple[list[float], float]:
    """Minutes until each ticket in call order is called by a pool of counters sharing one line.

    `busy_minutes` has one entry per counter of the pool (0 when free now); each ticket goes to the
    counter that frees first and keeps it for its typical minutes. Returns the wait of every ticket and
    the wait of one more ticket joining the end of the line now.
    """
    free_at = sorted(busy_minutes) or [0.0]
    heapq.heapify(free_at)
    waits = []
    for minutes in ticket_minutes:
        start = heapq.heappop(free_at)
        waits.append(start)
        heapq.heappush(free_at, start + minutes)
    return waits, free_at[0]
