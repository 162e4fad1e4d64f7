"""Typical times: how long a citizen of a service holds a counter, and how long a busy counter still needs.
The wait of a ticket comes from playing the whole line through the counters (`server.domain.projection`)."""

from __future__ import annotations

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


def residual_minutes(typical_minutes: float, elapsed_minutes: float) -> float:
    """Expected time left for a counter busy with one citizen since `elapsed_minutes` (from the call); one
    kept past the typical time still needs a little (service times have long tails)."""
    return max(typical_minutes - elapsed_minutes, 0.25 * typical_minutes)
