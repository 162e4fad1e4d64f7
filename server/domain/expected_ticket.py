"""Actions that name the citizen they are meant for (report H2, D4).

A counter action acts on whoever is at the counter when it arrives. A second console of the same clerk (another
tab, another PC after a takeover) or a console whose live update has not arrived yet may press Finish for citizen
X after Call next elsewhere put Y at the counter: Y would be finished without coming to the desk. So an action
may name the ticket the console shows (`ticket_id`; None: "nobody is at the counter"), and is refused, changing
nothing, when another is there.

    expect_at_counter(session, counter_id, user_id, ticket_id)   → (counter, current), or raises TicketChanged (409)
    expecting_ticket(use_case)                                   → the use case checking `ticket_id=` first

The check runs inside the use case's own write transaction (BEGIN IMMEDIATE on SQLite), so no other action on the
counter comes in between.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlmodel import Session

from server.domain import errors
from server.domain.outcome import Outcome
from server.domain.serving import clerk_counter_and_current, forget_read, keep_read

UseCase = Callable[..., Outcome]


def expect_at_counter(
    session: Session, counter_id: int, user_id: int, ticket_id: int | None
) -> tuple[SimpleNamespace, SimpleNamespace | None]:
    """Refuses unless the citizen at the counter (called or being served) is ticket `ticket_id` (None: nobody).

    Returns the rows it read: (the counter, the citizen at it or None).

    Raises UnknownCounter (404), WrongCounter (403: not the clerk's counter, checked first so another clerk learns
    nothing), TicketChanged (409, naming the number at the counter now, or nobody)."""
    connection = session.connection()
    counter, current = clerk_counter_and_current(connection, counter_id, user_id)
    if (current.id if current is not None else None) != ticket_id:
        raise errors.TicketChanged.at_counter_now(current.display_number if current is not None else None)
    return counter, current


@functools.cache  # one wrapper per use case: the Runner caches what it learns of a use case by the function
def expecting_ticket(use_case: UseCase) -> UseCase:
    """`use_case` — a counter action `(session, now, counter_id, user_id, …)` — taking one more keyword,
    `ticket_id` (int or None), checked with `expect_at_counter` before the use case runs. The wrapper keeps the use
    case's name and signature (`functools.wraps`), so the Runner logs it by name and hands it `lines` as before.

    Raises what `expect_at_counter` and the use case raise."""

    @functools.wraps(use_case)
    def checked(
        session: Session, now: datetime, counter_id: int, user_id: int, *args: Any, ticket_id: int | None, **kw: Any
    ) -> Outcome:
        # the rows read are kept for the use case (call next and start would read them again: `serving.keep_read`)
        keep_read(session, counter_id, user_id, *expect_at_counter(session, counter_id, user_id, ticket_id))
        try:
            return use_case(session, now, counter_id, user_id, *args, **kw)
        finally:  # kept for this use case's first read only: a use case that did not take it leaves none behind
            forget_read(session)

    return checked
