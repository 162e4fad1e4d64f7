"""Summed measures of a group of tickets (one row: `server.stats.models.MEASURES`) and the readable figures made
of them — shared by live figures (`server.stats.live`) and history (`server.stats.queries`)."""

from __future__ import annotations

from typing import Any, Protocol

from server.stats.compute import INDEX
from server.stats.models import MEASURES, WAIT_BUCKETS
from server.stats.waits import minutes, p90_of_sorted


def empty_row() -> list[int]:
    return [0] * len(MEASURES)


def combine(target: list[int], row: list[int] | tuple[int, ...]) -> list[int]:
    """Adds `row` into `target` (SUM for every measure, MAX for wait_max); NULLs from SQL count as 0."""
    wait_max = INDEX["wait_max"]
    longest = max(target[wait_max], row[wait_max] or 0)
    target[:] = [a + (b or 0) for a, b in zip(target, row, strict=True)]
    target[wait_max] = int(longest)
    return target


def _share(part: int, whole: int) -> float | None:
    """part ÷ whole (counts, 0 ≤ part) as a share 0…1 rounded ONCE to one decimal of a percent (0.957 is 95.7 %),
    half up: a tie goes to the larger figure (1/16 = 6.25 % → 0.063), as Vietnamese reports round ("làm tròn":
    5 and above rounds up). Computed on the integers, so no binary fraction decides a tie; every surface then
    writes the share as it is (page and PDF: server.stats.numbers.percent; CSV: server.stats.exports.text_value;
    Excel: the value with format 0.0%; live page: Intl in dashboard/js/_format.js) and all show the same digit.
    None when `whole` is 0."""
    if not whole:
        return None
    return ((2000 * part + whole) // (2 * whole)) / 1000  # ⌊1000·part/whole + ½⌋ / 1000


def p90_exact(waits: list[int]) -> float | None:
    """Nearest-rank 90th percentile of wait samples (seconds → minutes): server.stats.waits."""
    return minutes(p90_of_sorted(sorted(waits)))


class HasP90(Protocol):
    def p90(self) -> int | None: ...


def figures(row: list[int], waits: HasP90 | None = None) -> dict[str, Any]:
    """Readable figures from summed measures (minutes, shares 0–1, None where nothing was measured).

    `waits` holds the exact waits the row counted (server.stats.waits: `Waits` in history, `SortedWaits` live);
    p90 is their nearest-rank 90th percentile, None without them. avg_wait_last_call_min is the wait to the last
    call (what Qmatic reports), counted when the ticket is finished or marked no-show."""
    m = dict(zip(MEASURES, row, strict=True))
    called, served, ratings = m["called"], m["served"], m["ratings"]
    return {
        "issued": m["issued"],
        "called": called,
        "served": served,
        "avg_wait_min": round(m["wait_sum"] / called / 60, 1) if called else None,
        "p90_wait_min": minutes(waits.p90()) if waits is not None and called else None,
        "avg_wait_last_call_min": round(m["wait_last_sum"] / m["wait_last_n"] / 60, 1) if m["wait_last_n"] else None,
        "max_wait_min": round(m["wait_max"] / 60, 1) if called else None,
        "within_target": _share(m["within_target"], called),
        "avg_service_min": round(m["service_sum"] / served / 60, 1) if served else None,
        "service_within_target": _share(m["service_within"], served),
        "no_show": m["no_show"],
        "no_show_rate": _share(m["no_show"], called),
        "recalled": m["recalled"],
        "transferred_in": m["transferred_in"],
        "transferred_out": m["transferred_out"],
        "held": m["held"],
        "cancelled": m["cancelled"],
        "ratings": ratings,
        "satisfaction": _share(m["r_very"] + m["r_sat"], ratings),
        "rated_share": _share(ratings, served),  # citizen ratings ÷ served: how far to trust `satisfaction`
        "wait_histogram": [m[f"w{i}"] for i in range(len(WAIT_BUCKETS) + 1)],
    }


__all__ = ["HasP90", "combine", "empty_row", "figures", "p90_exact"]
