"""Exact wait samples and the one p90 definition used by the live dashboard, history, exports and the PDF.

**p90 wait** = the nearest-rank 90th percentile of the group's exact waits in whole seconds (wait = first call −
issue, see server.stats.compute): sort the n waits, take the ⌈0.9 × n⌉-th (1-based). It is always one of the
waits, so a group with one wait has p90 = that wait = its mean, and a group of equal waits has p90 = mean.
Shown in minutes rounded to 0.1, like the mean.

Where the samples live, so every surface computes the same number from the same values:

- live (today): `server.stats.live.LiveStats` keeps the waits of each service, agency and site in a sorted list
  (`bisect.insort`, the p90 is one index away);
- history: every roll-up row (`stats_detail`, `stats_hourly`) keeps the waits it counted as a `waits` blob
  (`encode`: unsigned 32-bit little-endian seconds, sorted) — 4 bytes per first call, read with the row's sums
  and merged into a `Waits` multiset (`collections.Counter`, counted in C) per figure shown. A year of 10 million
  tickets is 40 MB of blobs; merging them costs O(waits in the range) and the percentile O(distinct seconds ×
  log), a few thousand distinct values at most.
"""

from __future__ import annotations

import math
import sys
from array import array
from bisect import insort
from collections import Counter
from collections.abc import Iterable, Sequence


def p90_rank(count: int) -> int:
    """1-based nearest rank of the 90th percentile among `count` values (0 for none)."""
    return math.ceil(0.9 * count) if count else 0


def p90_of_sorted(ordered: Sequence[int]) -> int | None:
    """Nearest-rank p90 (seconds) of ascending wait seconds; None for none."""
    return ordered[p90_rank(len(ordered)) - 1] if ordered else None


def minutes(seconds: int | None) -> float | None:
    """Seconds as minutes rounded to 0.1 (how every wait figure is shown)."""
    return None if seconds is None else round(seconds / 60, 1)


def encode(waits: Iterable[int]) -> bytes:
    """Wait seconds as the roll-up blob: sorted unsigned 32-bit little-endian integers."""
    values = array("I", sorted(int(w) for w in waits))
    if sys.byteorder == "big":
        values.byteswap()
    return values.tobytes()


def decode(blob: bytes | memoryview | None) -> array:
    """The roll-up blob back as an array of wait seconds (empty for NULL)."""
    values = array("I")
    if blob:
        values.frombytes(bytes(blob))
        if sys.byteorder == "big":
            values.byteswap()
    return values


class Waits:
    """A multiset of wait seconds (history: merged roll-up blobs). `p90()` follows the definition above."""

    __slots__ = ("counts", "n")

    def __init__(self, values: Sequence[int] = ()) -> None:
        self.counts: Counter[int] = Counter()
        self.n = 0
        self.add(values)

    def add(self, values: Sequence[int]) -> Waits:
        """Adds wait seconds (a list or a decoded blob)."""
        self.counts.update(values)
        self.n += len(values)
        return self

    def merge(self, other: Waits) -> Waits:
        self.counts.update(other.counts)
        self.n += other.n
        return self

    def p90(self) -> int | None:
        """Nearest-rank p90 in seconds, or None without waits."""
        rank = p90_rank(self.n)
        seen = 0
        for value in sorted(self.counts):
            seen += self.counts[value]
            if seen >= rank:
                return value
        return None

    def __len__(self) -> int:
        return self.n


class SortedWaits:
    """Ascending wait seconds kept sorted as they arrive (live): adding is O(log n + memmove), p90 O(1)."""

    __slots__ = ("values",)

    def __init__(self) -> None:
        self.values: list[int] = []

    def add(self, seconds: int) -> None:
        insort(self.values, seconds)

    def p90(self) -> int | None:
        return p90_of_sorted(self.values)

    def __len__(self) -> int:
        return len(self.values)
