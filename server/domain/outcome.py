"""What a use case returns: the ticket it concerns and the events to publish after the commit."""

from __future__ import annotations

from dataclasses import dataclass, field

from server.domain.events import QueueEvent
from server.domain.readmodels import TicketView


@dataclass
class Outcome:
    """`ticket`: the ticket the use case concerns (None when there is none, e.g. Call next with nobody left);
    `events`: past-tense facts, published only after the commit; `created`: False when an issue was a repeat
    of an earlier request (same Idempotency-Key). Figures promised to a citizen come from the line's
    projection (`server.domain.outlook`), not from the use case."""

    ticket: TicketView | None = None
    events: list[QueueEvent] = field(default_factory=list)
    created: bool = True
