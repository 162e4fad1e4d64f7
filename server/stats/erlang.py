"""Erlang C staffing: how many open counters an agency needs, hour by hour, to keep its target wait.

Model (M/M/c): citizens arrive at random at λ per hour, each takes on average S minutes, c counters serve
one shared line. Offered load a = λ·S/60 erlangs. The probability that a citizen has to wait at all is
Erlang C, C(c, a); the share waiting at most t minutes is 1 − C(c, a)·e^(−(c − a)·t/S); the mean wait is
C(c, a)·S/(c − a). We recommend the smallest c that keeps `share` (default 80 %) of citizens within the
target wait. λ is measured: arrivals of that agency in that hour of the day, averaged over the days of the
range on which the site(s) issued any ticket; S is the agency's measured mean service time over the range
(its services' default when nothing was served); the target is the strictest target wait of its services.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from server.models import Agency, Service
from server.stats.compute import INDEX
from server.stats.queries import Filters, agency_hour_rows

MAX_COUNTERS = 200


def erlang_c(counters: int, load: float) -> float:
    """Probability that an arriving citizen must wait (1 when the counters cannot keep up)."""
    if load <= 0:
        return 0.0
    if counters <= load:
        return 1.0
    blocking = 1.0  # Erlang B by the stable recursion
    for k in range(1, counters + 1):
        blocking = load * blocking / (k + load * blocking)
    return counters * blocking / (counters - load * (1 - blocking))


def share_within(counters: int, arrivals_per_hour: float, service_minutes: float, target_minutes: float) -> float:
    """Share of citizens who wait at most `target_minutes`."""
    load = arrivals_per_hour * service_minutes / 60
    if load <= 0:
        return 1.0
    if counters <= load:
        return 0.0
    waiting = erlang_c(counters, load)
    return 1 - waiting * math.exp(-(counters - load) * target_minutes / service_minutes)


def mean_wait_minutes(counters: int, arrivals_per_hour: float, service_minutes: float) -> float:
    load = arrivals_per_hour * service_minutes / 60
    if load <= 0:
        return 0.0
    if counters <= load:
        return math.inf
    return erlang_c(counters, load) * service_minutes / (counters - load)


def counters_needed(arrivals_per_hour: float, service_minutes: float, target_minutes: float, share: float = 0.8) -> int:
    """Smallest number of counters keeping `share` of citizens within the target wait (0 when nobody comes)."""
    if arrivals_per_hour <= 0 or service_minutes <= 0:
        return 0
    load = arrivals_per_hour * service_minutes / 60
    counters = max(1, math.floor(load) + 1)
    while (
        counters < MAX_COUNTERS and share_within(counters, arrivals_per_hour, service_minutes, target_minutes) < share
    ):
        counters += 1
    return counters


@dataclass(frozen=True)
class StaffingRow:
    agency_id: int
    agency: str
    service_minutes: float
    target_minutes: int
    arrivals: dict[int, float]  # hour → arrivals per hour (mean over the days)
    needed: dict[int, int]  # hour → counters


def staffing(session: Session, filters: Filters, now: datetime, share: float = 0.8) -> dict[str, Any]:
    """Counters needed per agency and hour of the day, from the arrivals and service times of the range."""
    rows, day_count = agency_hour_rows(session, filters, now)
    agency_ids = sorted({agency for agency, _hour in rows})
    agencies = {a.id: a for a in session.exec(select(Agency).where(col(Agency.id).in_(agency_ids)))}
    services = session.exec(select(Service).where(col(Service.agency_id).in_(agency_ids))).all()
    result = []
    hours = sorted({hour for _agency, hour in rows})
    for agency_id in agency_ids:
        own = [s for s in services if s.agency_id == agency_id]
        served = sum(row[INDEX["served"]] for (a, _h), row in rows.items() if a == agency_id)
        seconds = sum(row[INDEX["service_sum"]] for (a, _h), row in rows.items() if a == agency_id)
        default = sum(s.default_service_minutes for s in own) / len(own) if own else 6.0
        minutes = seconds / served / 60 if served and seconds else default
        target = min((s.target_wait_minutes for s in own), default=15)
        arrivals = {
            h: rows[(agency_id, h)][INDEX["issued"]] / max(day_count, 1) for h in hours if (agency_id, h) in rows
        }
        needed = {h: counters_needed(rate, minutes, target, share) for h, rate in arrivals.items()}
        agency = agencies.get(agency_id)
        result.append(
            StaffingRow(
                agency_id,
                agency.name if agency else f"#{agency_id}",
                round(minutes, 1),
                target,
                {h: round(v, 1) for h, v in arrivals.items()},
                needed,
            )
        )
    return {"hours": hours, "rows": result, "days": day_count, "share": share}
