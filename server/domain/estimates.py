"""Typical times: how long a citizen of a service holds a counter, and how long a busy counter still needs.
The wait of a ticket comes from playing the whole line through the counters (`server.domain.projection`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import fmean

#: The typical minutes used when a service's configured default is not a usable number.
FALLBACK_MINUTES = 6.0
#: The longest typical service a projection believes (a working day's afternoon): a default above it, or one that
#: is not a finite positive number (a stored `inf` or `nan`), falls back to FALLBACK_MINUTES.
MAX_TYPICAL_MINUTES = 480.0


def typical_service_minutes(recent_minutes: Sequence[float], default_minutes: float) -> float:
    """Mean of recent times at the counter, the longest and shortest tenth left out (robust to a forgotten
    'finish'), or the service default. A mean, not a median: service times have a long tail, and a line
    moves at the mean (the median under-promised every wait by about a tenth in `luot simulate`).

    The default is used only when it is a finite number in (0, MAX_TYPICAL_MINUTES]; otherwise FALLBACK_MINUTES:
    a projection plays in whole microseconds and must not meet an infinite or NaN service time."""
    usable = sorted(m for m in recent_minutes if 0 < m < 240)
    if len(usable) < 3:
        usable_default = math.isfinite(default_minutes) and 0 < default_minutes <= MAX_TYPICAL_MINUTES
        return default_minutes if usable_default else FALLBACK_MINUTES
    trim = len(usable) // 10
    return float(fmean(usable[trim : len(usable) - trim]))


def residual_minutes(typical_minutes: float, elapsed_minutes: float) -> float:
    """Expected time left for a counter busy with one citizen since `elapsed_minutes` (from the call); one
    kept past the typical time still needs a little (service times have long tails)."""
    return max(typical_minutes - elapsed_minutes, 0.25 * typical_minutes)
