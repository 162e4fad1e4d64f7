"""Past-tense facts returned by the use cases and published after commit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from server.domain.queries import ServiceQueue


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
class QueueEvent:
    kind: ClassVar[str] = "event"
    site_id: int
    at: datetime
    ticket: TicketView | None = None
    counter: CounterView | None = None
    user_id: int | None = None
    service_ids: frozenset[int] = field(default_factory=frozenset)  # queues whose contents changed
    # The figures of those queues when the use case already computed them inside its transaction (they are
    # what the commit left), so publishing need not read them again.
    queues: tuple[ServiceQueue, ...] = ()


@dataclass(frozen=True)
class TicketIssued(QueueEvent):
    kind: ClassVar[str] = "issued"


@dataclass(frozen=True)
class TicketCalled(QueueEvent):
    kind: ClassVar[str] = "called"
    call_id: str = ""


@dataclass(frozen=True)
class TicketRecalled(QueueEvent):
    kind: ClassVar[str] = "recalled"
    call_id: str = ""


@dataclass(frozen=True)
class TicketStarted(QueueEvent):
    kind: ClassVar[str] = "started"


@dataclass(frozen=True)
class TicketFinished(QueueEvent):
    kind: ClassVar[str] = "finished"


@dataclass(frozen=True)
class TicketNoShow(QueueEvent):
    kind: ClassVar[str] = "no_show"


@dataclass(frozen=True)
class TicketTransferred(QueueEvent):
    kind: ClassVar[str] = "transferred"
    from_service_id: int = 0


@dataclass(frozen=True)
class TicketHeld(QueueEvent):
    kind: ClassVar[str] = "held"


@dataclass(frozen=True)
class TicketReturned(QueueEvent):
    kind: ClassVar[str] = "returned"


@dataclass(frozen=True)
class TicketRated(QueueEvent):
    kind: ClassVar[str] = "rated"
    score: str = ""


@dataclass(frozen=True)
class TicketCancelled(QueueEvent):
    kind: ClassVar[str] = "cancelled"


@dataclass(frozen=True)
class CounterChanged(QueueEvent):
    kind: ClassVar[str] = "counter"
