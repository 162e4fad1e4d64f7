"""What citizens said: the reasons and comments of their ratings, for managers (live and history).

Only citizen ratings (sources `tablet` and `phone`) are read; an old `staff` rating is never shown or counted.
Rows are plain dicts (JSON-ready); comments are returned as stored: pages insert them as text (escaped) and
exports pass them through `server.stats.exports.inert`.
"""

from __future__ import annotations

from collections import Counter as Tally
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from server.clock import local_date, local_midnight, local_time_text
from server.domain.vocabulary import CITIZEN_SOURCES, NEGATIVE_SCORES
from server.models import Counter, Rating, Ticket, User

MAX_ROWS = 500


@dataclass(frozen=True)
class FeedbackFilters:
    """Local days `first`…`last` (inclusive) on `site_ids`; None = any. `priority` ("" = ordinary) and `channel`
    are the ticket's, as the figures read them (server.stats.compute: priority and channel are the ticket's)."""

    first: date
    last: date
    site_ids: tuple[int, ...]
    agency_id: int | None = None
    service_id: int | None = None
    counter_id: int | None = None
    clerk_id: int | None = None
    priority: str | None = None
    channel: str | None = None
    score: str | None = None
    reason: str | None = None

    @classmethod
    def of(cls, filters: Any, score: str | None = None, reason: str | None = None) -> FeedbackFilters:
        """The history's filters (`server.stats.queries.Filters`), every one the figures apply, with a score and
        a reason."""
        return cls(
            filters.first,
            filters.last,
            filters.site_ids,
            agency_id=filters.agency_id,
            service_id=filters.service_id,
            counter_id=filters.counter_id,
            clerk_id=filters.clerk_id,
            priority=filters.priority,
            channel=filters.channel,
            score=score,
            reason=reason,
        )


def feedback(session: Session, filters: FeedbackFilters, limit: int = MAX_ROWS) -> dict[str, Any]:
    """{ratings: n, reasons: [(reason, count)] most frequent first, comments: [row] newest first (≤ limit)}.

    A row: {ticket_id, display_number, at (ISO), score, reasons, comment, source, counter, clerk}. With a
    `reason` filter only ratings that chose it are read; `comments` holds every matching rating that has a
    comment or a reason."""
    query = (
        select(Rating, Ticket.display_number)
        .join(Ticket, col(Ticket.id) == Rating.ticket_id)
        .where(
            col(Rating.site_id).in_(filters.site_ids),
            col(Rating.source).in_(CITIZEN_SOURCES),
            col(Rating.at) >= local_midnight(filters.first),
            col(Rating.at) < local_midnight(date.fromordinal(filters.last.toordinal() + 1)),
        )
        .order_by(col(Rating.at).desc(), col(Rating.id).desc())
    )
    for column, value in (
        (Rating.agency_id, filters.agency_id),
        (Rating.service_id, filters.service_id),
        (Rating.counter_id, filters.counter_id),
        (Rating.clerk_id, filters.clerk_id),
        (Rating.score, filters.score),
    ):
        if value is not None:
            query = query.where(col(column) == value)
    for ticket_column, value in ((Ticket.priority, filters.priority), (Ticket.channel, filters.channel)):
        if value is not None:
            query = query.where(col(ticket_column) == value)
    rows = [(r, number) for r, number in session.exec(query).all() if not filters.reason or filters.reason in r.reasons]
    reasons = Tally(reason for rating, _n in rows for reason in rating.reasons)
    said = [(r, n) for r, n in rows if r.comment or r.reasons][:limit]
    return {
        "ratings": len(rows),
        "reasons": sorted(reasons.items(), key=lambda item: (-item[1], item[0])),
        "comments": described(session, said),
    }


def negative_today(session: Session, site_id: int, now: datetime) -> list[dict[str, Any]]:
    """Today's (local day) citizen ratings that were not satisfied at `site_id`, newest first."""
    today = local_date(now)
    query = (
        select(Rating, Ticket.display_number)
        .join(Ticket, col(Ticket.id) == Rating.ticket_id)
        .where(
            Rating.site_id == site_id,
            col(Rating.source).in_(CITIZEN_SOURCES),
            col(Rating.score).in_(NEGATIVE_SCORES),
            col(Rating.at) >= local_midnight(today),
        )
        .order_by(col(Rating.at).desc(), col(Rating.id).desc())
        .limit(MAX_ROWS)
    )
    return described(session, list(session.exec(query).all()))


def described(session: Session, rows: list[tuple[Rating, str]]) -> list[dict[str, Any]]:
    """Rating rows with their counter and clerk named (one read each for the counters and clerks met)."""
    counter_ids = {r.counter_id for r, _n in rows if r.counter_id}
    clerk_ids = {r.clerk_id for r, _n in rows if r.clerk_id}
    counters = {c.id: c for c in session.exec(select(Counter).where(col(Counter.id).in_(counter_ids)))}
    clerks = {u.id: u for u in session.exec(select(User).where(col(User.id).in_(clerk_ids)))}
    result = []
    for rating, number in rows:
        counter = counters.get(rating.counter_id)
        clerk = clerks.get(rating.clerk_id)
        result.append(
            {
                "ticket_id": rating.ticket_id,
                "display_number": number,
                "at": rating.at.isoformat(),
                "time": local_time_text(rating.at),
                "score": rating.score,
                "reasons": list(rating.reasons),
                "comment": rating.comment,
                "source": rating.source,
                "counter": {"id": counter.id, "number": counter.number, "name": counter.name} if counter else None,
                "clerk": (clerk.full_name or clerk.username) if clerk else "",
            }
        )
    return result
