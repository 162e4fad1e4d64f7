"""Rating: the citizen's judgement of a finished service, once per ticket."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from server.domain import errors
from server.domain.events import TicketRated
from server.domain.outcome import Outcome
from server.domain.queries import site_rules, ticket_view
from server.domain.ticket_log import log_event
from server.domain.transitions import Action, allowed
from server.domain.vocabulary import EventKind, RatingScore
from server.models import Rating, Ticket


def rate(
    session: Session, now: datetime, ticket_id: int, score: str, comment: str = "", source: str = "tablet"
) -> Outcome:
    """Store the citizen's rating of a finished service (`comment` ≤ 1,000 characters), once per ticket.

    Raises UnknownTicket (404), InvalidScore (400, not on the site's scale), RatingNotAllowed (409, not
    finished), AlreadyRated (409).
    """
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise errors.UnknownTicket()
    rules = site_rules(session, ticket.site_id)
    if score not in rules.rating_scale or score not in set(RatingScore):
        raise errors.InvalidScore(score=score)
    if not allowed(Action.RATE, ticket.status):
        raise errors.RatingNotAllowed()
    if session.exec(select(Rating).where(Rating.ticket_id == ticket.id)).first() is not None:
        raise errors.AlreadyRated()
    session.add(
        Rating(
            ticket_id=ticket.id or 0,
            site_id=ticket.site_id,
            agency_id=ticket.agency_id,
            service_id=ticket.service_id,
            counter_id=ticket.counter_id,
            clerk_id=ticket.clerk_id,
            score=score,
            comment=comment.strip()[:1000],
            source=source,
            at=now,
        )
    )
    log_event(session, ticket, EventKind.RATED, now, ticket.counter_id, None, score=score, source=source)
    view = ticket_view(session, ticket)
    return Outcome(view, [TicketRated(site_id=ticket.site_id, at=now, ticket=view, score=score)])
