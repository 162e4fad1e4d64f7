"""The queue use cases, one function per action. Each takes a session inside one write transaction and the
time, applies the rules, appends to the ticket event log and returns an `Outcome` (its ticket and the events
to publish after the commit); refusals are named `server.domain.errors`, listed in each docstring.

    issuing   issue_ticket
    counters  open_counter, close_counter, pause_counter, resume_counter
    serving   call_next, recall, start, finish, no_show, transfer, hold, return_ticket
    rating    rate
    dossiers  attach_dossiers (finish takes them too)

`expecting_ticket(use_case)` (expected_ticket) is any of the actions on the citizen at the counter, refused first
unless the ticket it names (`ticket_id=`) is the one at the counter.
"""

from server.domain.counters import close_counter, open_counter, pause_counter, resume_counter
from server.domain.dossiers import attach_dossiers
from server.domain.expected_ticket import expecting_ticket
from server.domain.issuing import issue_ticket
from server.domain.outcome import Outcome
from server.domain.rating import rate
from server.domain.serving import call_next, finish, hold, no_show, recall, return_ticket, start, transfer

__all__ = [
    "Outcome",
    "attach_dossiers",
    "call_next",
    "close_counter",
    "expecting_ticket",
    "finish",
    "hold",
    "issue_ticket",
    "no_show",
    "open_counter",
    "pause_counter",
    "rate",
    "recall",
    "resume_counter",
    "return_ticket",
    "start",
    "transfer",
]
