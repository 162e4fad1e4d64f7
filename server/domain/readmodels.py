"""Read models: what the use cases, the API, the snapshots and the events may tell about a ticket, a counter
and a service's line (no personal data; plain frozen dataclasses, no database)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from server.domain.estimates import estimated_wait_minutes


@dataclass(frozen=True)
class TicketView:
    """What the outside world may know about a ticket (no personal data)."""

    id: int
    site_id: int
    service_id: int
    agency_id: int
    number: int
    display_number: str
    status: str
    priority: str
    tracking_token: str
    issued_at: datetime
    queue_since: datetime
    counter_id: int | None
    counter_number: int | None
    recall_count: int
    service_date: str


@dataclass(frozen=True)
class CounterView:
    id: int
    site_id: int
    number: int
    name: str
    status: str
    pause_reason: str
    clerk_id: int | None
    current_ticket_id: int | None
    service_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class ServiceQueue:
    """The live state of one service's line."""

    service_id: int
    agency_id: int
    waiting: int
    order: tuple[int, ...]  # waiting ticket ids in call order
    open_counters: int
    service_minutes: float
    minutes_per_place: float
    estimated_wait_minutes: int  # for a ticket issued now
    longest_wait_seconds: int
    last_called: str | None = None  # display number most recently called today
    estimates: tuple[int, ...] = ()  # minutes until each ticket of `order` is called (counters shared with
    #                                  other services counted: see pool_estimates)

    def ahead_of(self, ticket_id: int) -> int:
        return self.order.index(ticket_id) if ticket_id in self.order else 0

    def estimate_for(self, ticket_id: int) -> int:
        if ticket_id in self.order and len(self.estimates) == len(self.order):
            return self.estimates[self.order.index(ticket_id)]
        return estimated_wait_minutes(self.ahead_of(ticket_id), self.service_minutes, self.open_counters)
