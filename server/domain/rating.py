"""Rating: the citizen's judgement of a finished service, once per ticket, from the citizen only.

Who may rate: the citizen's phone (the tracking token) until the end of the local day the ticket was
finished, and the rating tablet of the counter that finished it within `rating_tablet_minutes` (site rule,
default 30) after Finish. Staff accounts and other counters' tablets are refused (403).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from server.clock import local_date, local_time_text
from server.domain import errors
from server.domain.events import TicketRated
from server.domain.outcome import Outcome
from server.domain.queries import site_rules, ticket_view
from server.domain.rules import SiteRules
from server.domain.ticket_log import log_event
from server.domain.transitions import Action, allowed
from server.domain.vocabulary import CITIZEN_SOURCES, NEGATIVE_SCORES, EventKind, RatingScore, RatingSource
from server.models import Counter, Rating, Ticket, User

MAX_REASONS = 8


def rate(
    session: Session,
    now: datetime,
    ticket_id: int,
    score: str,
    comment: str = "",
    source: str = RatingSource.TABLET,
    reasons: Sequence[str] = (),
    tablet_counter_id: int | None = None,
) -> Outcome:
    """Store the citizen's rating of a finished service (`comment` ≤ 1,000 characters), once per ticket.

    `source` is `tablet` (then `tablet_counter_id` is the counter the tablet is paired with) or `phone`;
    `reasons` are texts of the site's `rating_reasons`, allowed after a score of `rating_reason_scores`.
    Raises UnknownTicket (404), StaffCannotRate (403, any other source), RatingWrongCounter (403),
    RatingWindowClosed (403), InvalidScore / InvalidReason (400), RatingNotAllowed (409, not finished),
    AlreadyRated (409).
    """
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise errors.UnknownTicket()
    if source not in CITIZEN_SOURCES:
        raise errors.StaffCannotRate()
    if source == RatingSource.TABLET and (tablet_counter_id is None or tablet_counter_id != ticket.counter_id):
        raise errors.RatingWrongCounter()
    rules = site_rules(session, ticket.site_id)
    if score not in rules.rating_scale or score not in set(RatingScore):
        raise errors.InvalidScore(score=score)
    chosen = _checked_reasons(rules, score, reasons)
    if not allowed(Action.RATE, ticket.status):
        raise errors.RatingNotAllowed()
    if session.exec(select(Rating).where(Rating.ticket_id == ticket.id)).first() is not None:
        raise errors.AlreadyRated()
    if not within_window(rules, ticket, source, now):
        raise errors.RatingWindowClosed()
    text = comment.strip()[:1000]
    session.add(
        Rating(
            ticket_id=ticket.id or 0,
            site_id=ticket.site_id,
            agency_id=ticket.agency_id,
            service_id=ticket.service_id,
            counter_id=ticket.counter_id,
            clerk_id=ticket.clerk_id,
            score=score,
            comment=text,
            source=source,
            reasons=chosen,
            at=now,
        )
    )
    log_event(
        session, ticket, EventKind.RATED, now, ticket.counter_id, None, score=score, source=source, reasons=chosen
    )
    view = ticket_view(session, ticket)
    feedback = _feedback(session, ticket, score, chosen, text, source, now) if score in NEGATIVE_SCORES else None
    return Outcome(view, [TicketRated(site_id=ticket.site_id, at=now, ticket=view, score=score, feedback=feedback)])


def within_window(rules: SiteRules, ticket: Ticket, source: str, now: datetime) -> bool:
    """The tablet: up to `rating_tablet_minutes` after Finish; the phone: until the local day of Finish ends."""
    finished = ticket.finished_at
    if finished is None:
        return False
    if source == RatingSource.TABLET:
        return now <= finished + timedelta(minutes=rules.rating_tablet_minutes)
    return local_date(now) <= local_date(finished)


def _checked_reasons(rules: SiteRules, score: str, reasons: Sequence[str]) -> list[str]:
    """The reasons kept in the order given, without repeats; InvalidReason for any not on the site's list or
    after a score that offers none."""
    chosen: list[str] = []
    for reason in reasons:
        if reason not in rules.rating_reasons or score not in rules.rating_reason_scores:
            raise errors.InvalidReason(reason=reason[:80])
        if reason not in chosen:
            chosen.append(reason)
    return chosen[:MAX_REASONS]


def _feedback(
    session: Session, ticket: Ticket, score: str, reasons: list[str], comment: str, source: str, now: datetime
) -> dict[str, Any]:
    """What the managers' live page lists for a rating that is not satisfied (never sent to the hall)."""
    counter = session.get(Counter, ticket.counter_id) if ticket.counter_id else None
    clerk = session.get(User, ticket.clerk_id) if ticket.clerk_id else None
    return {
        "ticket_id": ticket.id,
        "display_number": ticket.display_number,
        "score": score,
        "reasons": reasons,
        "comment": comment,
        "source": source,
        "at": now.isoformat(),
        "time": local_time_text(now),
        "counter": {"id": counter.id, "number": counter.number, "name": counter.name} if counter else None,
        "clerk": (clerk.full_name or clerk.username) if clerk else "",
    }
