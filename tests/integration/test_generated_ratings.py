"""The synthetic year and the demo's history write their ratings as the rating use case does: a `rating` row
beside each `rated` event (server.domain.rating.rate), so "What citizens said", the negative-ratings panel and
the one-stop export see the ratings the figures count.

The H3 check found 882 `rated` events and no `rating` row after `luot seed-demo --history-days 3`.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, col, func, select

from server.clock import LOCAL_TZ
from server.db import Database
from server.demo_data import seed_demo
from server.demo_history import fill_history
from server.domain.vocabulary import DEFAULT_RATING_REASONS, NEGATIVE_SCORES
from server.models import Rating, Ticket, TicketEvent
from server.stats.feedback import FeedbackFilters, feedback, negative_today
from server.stats.generator import generate
from server.stats.queries import Filters, history

MONDAY, WEDNESDAY = date(2026, 11, 16), date(2026, 11, 18)
NOW = datetime(2026, 11, 18, 18, 0, tzinfo=LOCAL_TZ)  # Wednesday evening: Monday and Tuesday are rolled up


def rated_events(session: Session) -> dict[int, TicketEvent]:
    return {e.ticket_id: e for e in session.exec(select(TicketEvent).where(TicketEvent.kind == "rated"))}


def assert_ratings_match_their_events(session: Session) -> list[Rating]:
    """Every `rated` event has its `rating` row and no row lacks an event; the row says what rate() would."""
    events = rated_events(session)
    ratings = {r.ticket_id: r for r in session.exec(select(Rating))}
    assert events and set(ratings) == set(events)
    finishers = {
        e.ticket_id: e.user_id for e in session.exec(select(TicketEvent).where(TicketEvent.kind == "finished"))
    }
    tickets = {t.id: t for t in session.exec(select(Ticket).where(col(Ticket.id).in_(list(events))))}
    for ticket_id, event in events.items():
        rating, ticket = ratings[ticket_id], tickets[ticket_id]
        assert (rating.score, rating.source, rating.reasons) == (
            event.data["score"],
            event.data["source"],
            event.data["reasons"],
        )
        assert rating.at.replace(tzinfo=None) == event.at.replace(tzinfo=None)
        assert (rating.site_id, rating.agency_id, rating.service_id) == (
            ticket.site_id,
            ticket.agency_id,
            ticket.service_id,
        )
        assert rating.counter_id == ticket.counter_id == event.counter_id
        assert rating.clerk_id == finishers[ticket_id]  # the clerk who finished it, as the figures count it
        assert rating.comment == ""
        assert bool(rating.reasons) == (rating.score in NEGATIVE_SCORES)
    return list(ratings.values())


def test_the_synthetic_year_writes_a_rating_row_for_each_rated_event(settings):
    db = Database(settings)
    with Session(db.engine) as session:
        generate(session, MONDAY, WEDNESDAY, sites=3, volume=0.3, seed=7, now=NOW)
    with db.read() as session:
        ratings = assert_ratings_match_their_events(session)
        negative = [r for r in ratings if r.score in NEGATIVE_SCORES]
        assert negative and all(set(r.reasons) <= set(DEFAULT_RATING_REASONS) for r in negative)
        site_ids = (1, 2, 3)
        figures = history(session, Filters(MONDAY, WEDNESDAY, site_ids), NOW).total_figures()
        said = feedback(session, FeedbackFilters(MONDAY, WEDNESDAY, site_ids))
        assert said["ratings"] == figures["ratings"] == len(ratings)
        assert sum(count for _reason, count in said["reasons"]) == sum(len(r.reasons) for r in ratings)
        assert len(said["comments"]) == len(negative)  # a reason is something said
        today = [r for r in negative if r.site_id == 1 and r.at.replace(tzinfo=None) >= datetime(2026, 11, 17, 17)]
        assert len(negative_today(session, 1, NOW)) == len(today) > 0
    db.dispose()


def test_the_demo_history_writes_its_ratings_too(settings):
    db = Database(settings)
    with Session(db.engine) as session:
        seed_demo(session)
        session.commit()
        fill_history(session, NOW, 2)
    with db.read() as session:
        ratings = assert_ratings_match_their_events(session)
        assert session.exec(select(func.count()).select_from(Rating)).one() == len(ratings) > 100
    db.dispose()
