"""What every surface tells a citizen about a ticket and a service, read from the line's projection and nothing
else: the issue answer, the kiosk screen, the printed ticket, the public status, the phone page and its near-turn
alert, the boards' and kiosks' waiting counts, the live dashboard.

Honest when it cannot know: with no calling counter for the service, no minutes are promised (`wait_minutes` is
None) and `opens_at` says when receiving starts later today, if it does; someone with people ahead is never told
"0 minutes".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from server.domain.hours import opens_later_today
from server.domain.line import SiteLine
from server.domain.ordering import US_PER_MINUTE


@dataclass(frozen=True, slots=True)
class TicketOutlook:
    """A waiting ticket's figures: `ahead` (people the projection calls before it on counters that can serve it),
    `wait_minutes` (None: no counter open for it), the counter likely to call it, `position` in the site's
    projected calls, and `opens_at` (local time a receiving period starts later today, when no counter is open)."""

    ahead: int
    wait_minutes: int | None
    counter_id: int | None
    position: int | None
    no_counter_open: bool
    opens_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ServiceFigures:
    """A service's line now: waiting, calling counters, the wait of a ticket issued now (None: no counter open),
    the longest current wait, the number called last, and when receiving starts later today."""

    service_id: int
    agency_id: int
    waiting: int
    open_counters: int
    wait_minutes: int | None
    longest_wait_seconds: int
    typical_minutes: float
    last_called: str | None
    opens_at: datetime | None


def minutes(call_in_us: int | None, ahead: int) -> int | None:
    """Whole minutes until a call, never 0 for someone with people ahead."""
    if call_in_us is None:
        return None
    whole = math.ceil(max(call_in_us, 0) / US_PER_MINUTE)
    return max(whole, 1) if ahead > 0 else whole


def ticket_outlook(line: SiteLine, ticket_id: int, now: datetime) -> TicketOutlook | None:
    """The figures of a waiting ticket of the line (None if it is not waiting)."""
    view = line.waiting.get(ticket_id)
    if view is None:
        return None
    forecast = line.projection(now).forecast(ticket_id)
    if forecast is None:
        return None
    service = line.services.get(view.service_id)
    no_counter = forecast.call_in_us is None
    opens_at = opens_later_today(service.opening_hours, now) if (no_counter and service) else None
    return TicketOutlook(
        ahead=forecast.ahead,
        wait_minutes=minutes(forecast.call_in_us, forecast.ahead),
        counter_id=forecast.counter_id,
        position=forecast.position,
        no_counter_open=no_counter,
        opens_at=opens_at,
    )


def service_figures(line: SiteLine, now: datetime) -> dict[int, ServiceFigures]:
    """Every service of the site, from the projection."""
    projection = line.projection(now)
    figures: dict[int, ServiceFigures] = {}
    for service_id, service in line.services.items():
        outlook = projection.services.get(service_id)
        waiting = outlook.waiting if outlook else 0
        next_call = outlook.next_call_in_us if outlook else None
        figures[service_id] = ServiceFigures(
            service_id=service_id,
            agency_id=service.agency_id,
            waiting=waiting,
            open_counters=outlook.calling_counters if outlook else 0,
            wait_minutes=minutes(next_call, waiting),
            longest_wait_seconds=(outlook.longest_wait_us // 1_000_000) if outlook else 0,
            typical_minutes=round(line.typical_minutes(service_id), 2),
            last_called=line.last_called.get(service_id),
            opens_at=opens_later_today(service.opening_hours, now) if next_call is None else None,
        )
    return figures
