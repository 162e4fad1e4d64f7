"""Read models: what the use cases, the API, the snapshots and the events may tell about a ticket and a counter
(no personal data; plain frozen dataclasses, no database)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


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
    appointment_at: datetime | None = None
    transfer_count: int = 0
    called_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    channel: str = ""
    hold_note: str = ""  # for staff only


@dataclass(frozen=True)
class CounterView:
    """A counter as the hall may know it; `weights` maps each service it serves to its weight in the call
    order, `priority_streak` counts its priority calls in a row."""

    id: int
    site_id: int
    number: int
    name: str
    status: str
    pause_reason: str
    clerk_id: int | None
    current_ticket_id: int | None
    service_ids: tuple[int, ...] = ()
    weights: tuple[tuple[int, int], ...] = ()
    priority_streak: int = 0
    floor: str = ""
