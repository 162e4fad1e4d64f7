"""Past-tense facts returned by the use cases and published after commit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from server.domain.readmodels import CounterView, TicketView
from server.domain.vocabulary import EventKind


@dataclass(frozen=True)
class QueueEvent:
    kind: ClassVar[str] = "event"
    site_id: int
    at: datetime
    ticket: TicketView | None = None
    counter: CounterView | None = None
    user_id: int | None = None
    service_ids: frozenset[int] = field(default_factory=frozenset)  # queues whose contents changed


@dataclass(frozen=True)
class TicketIssued(QueueEvent):
    kind: ClassVar[str] = EventKind.ISSUED


@dataclass(frozen=True)
class TicketCalled(QueueEvent):
    kind: ClassVar[str] = EventKind.CALLED
    call_id: str = ""


@dataclass(frozen=True)
class TicketRecalled(QueueEvent):
    kind: ClassVar[str] = EventKind.RECALLED
    call_id: str = ""


@dataclass(frozen=True)
class TicketStarted(QueueEvent):
    kind: ClassVar[str] = EventKind.STARTED


@dataclass(frozen=True)
class TicketFinished(QueueEvent):
    kind: ClassVar[str] = EventKind.FINISHED


@dataclass(frozen=True)
class TicketNoShow(QueueEvent):
    kind: ClassVar[str] = EventKind.NO_SHOW


@dataclass(frozen=True)
class TicketTransferred(QueueEvent):
    kind: ClassVar[str] = EventKind.TRANSFERRED
    from_service_id: int = 0


@dataclass(frozen=True)
class TicketHeld(QueueEvent):
    kind: ClassVar[str] = EventKind.HELD


@dataclass(frozen=True)
class TicketReturned(QueueEvent):
    kind: ClassVar[str] = EventKind.RETURNED


@dataclass(frozen=True)
class TicketRated(QueueEvent):
    kind: ClassVar[str] = EventKind.RATED
    score: str = ""
    #: for managers only (room managers:<site>): score, reasons, comment, source, counter, clerk, ticket
    feedback: dict[str, Any] | None = None


@dataclass(frozen=True)
class CounterChanged(QueueEvent):
    kind: ClassVar[str] = "counter"
