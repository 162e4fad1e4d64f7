"""The demo's past: the finished days before today played for the demo's own sites, within their opening hours.

`luot seed-demo --history-days 30` (what `make demo` runs) fills the days that have neither tickets nor a
roll-up yet, so History and its charts are full on first look and a later `make demo` only adds the days
since. Arrivals, service times, recalls, transfers, holds and ratings come from the synthetic-year generator
(server.stats.generator): the centre receives about `CENTRE_DAILY` citizens on an ordinary weekday; the days
follow the generator's calendar (Mondays busier, public holidays closed) and each agency receives only in
its services' opening hours (Saturday mornings for the agencies open then; the generator picks among an
agency's services whatever their hours, so the demo gives an agency's services the same hours). Every played
day is rolled up.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from server.clock import local_date
from server.domain.hours import periods_on
from server.domain.rules import SiteRules
from server.models import Agency, Counter, CounterService, NumberSequence, Service, Site, Ticket, User
from server.stats.generator import HOLIDAYS, HOUR_PROFILE, MONTH_FACTOR, DayPlan, SiteShape, day_factor, play_days
from server.stats.models import StatsRolledDay

CENTRE_DAILY = 900.0  # citizens on an ordinary weekday at a centre (the demo's 43 counters serve ~2,500)
DAILY_BY_KIND = {"centre": CENTRE_DAILY, "branch": 130.0, "point": 18.0}
SATURDAY_FACTOR = 0.5  # a Saturday morning's share of an ordinary day, for the agencies open then


def _clerks_by_counter(session: Session, site: Site) -> dict[int, int | None]:
    """Counter number → the clerk who usually sits there: the demo's clerkNN sit at counter NN of their site."""
    clerks = session.exec(select(User).where(User.site_id == site.id, User.role == "clerk")).all()
    found: dict[int, int | None] = {}
    for user in clerks:
        digits = "".join(ch for ch in user.username if ch.isdigit())
        if digits:
            found.setdefault(int(digits), user.id)
    return found


def site_shape(session: Session, site: Site) -> SiteShape:
    """The generator's view of an existing site: its agencies' services, counters and clerks, and its rating
    reasons (the site's rules)."""
    rules = SiteRules.from_settings(site.settings)
    shape = SiteShape(
        site.id or 0,
        site.kind,
        DAILY_BY_KIND.get(site.kind, 25.0),
        rating_reasons=rules.rating_reasons,
        rating_reason_scores=rules.rating_reason_scores,
    )
    clerks = _clerks_by_counter(session, site)
    agencies = session.exec(select(Agency).where(Agency.site_id == site.id).order_by(col(Agency.sort_order))).all()
    plans = []
    for agency in agencies:
        services = session.exec(
            select(Service).where(Service.agency_id == agency.id, Service.active).order_by(col(Service.sort_order))
        ).all()
        ids = [s.id for s in services]
        counters = session.exec(
            select(Counter)
            .join(CounterService, col(CounterService.counter_id) == Counter.id)
            .where(col(CounterService.service_id).in_(ids))
            .distinct()
            .order_by(col(Counter.number))
        ).all()
        if not services or not counters:
            continue
        for service in services:
            sequence = session.get(NumberSequence, service.sequence_id)
            shape.first_numbers[service.sequence_id] = sequence.first_number if sequence else 1
        staff = [(c.id or 0, clerks.get(c.number)) for c in counters]
        plans.append((agency.id or 0, [(s.id or 0, s.sequence_id, s.default_service_minutes) for s in services], staff))
    weight = sum(len(staff) for _a, _s, staff in plans) or 1
    shape.agencies = [(a, len(staff) / weight, services, staff) for a, services, staff in plans]
    return shape


def receiving_hours(session: Session, site_ids: list[int]) -> dict[int, list[dict]]:
    """Agency id → the opening hours of its active services."""
    hours: dict[int, list[dict]] = defaultdict(list)
    for service in session.exec(select(Service).where(col(Service.site_id).in_(site_ids), Service.active)):
        hours[service.agency_id].append(dict(service.opening_hours or {}))
    return hours


def demo_plan(hours: dict[int, list[dict]]) -> DayPlan:
    """Weekdays as the generator's calendar; Saturdays at SATURDAY_FACTOR; each agency at the hours of
    HOUR_PROFILE when one of its services receives (an hour counts when it is open at its first arrival)."""

    def factor_of(day: date) -> float:
        if day.weekday() == 5:
            return 0.0 if (day.month, day.day) in HOLIDAYS else SATURDAY_FACTOR * MONTH_FACTOR[day.month]
        return day_factor(day)

    def profile_of(agency_id: int, day: date) -> dict[int, float]:
        services = hours.get(agency_id) or [{}]
        profile = {}
        for hour, weight in HOUR_PROFILE.items():
            minute = 30 if hour == 7 else 0
            instant = datetime.combine(day, time(hour, minute))
            if any(_open_at(h, day, instant) for h in services):
                profile[hour] = weight
        return profile

    return DayPlan(factor_of=factor_of, profile_of=profile_of)


def _open_at(hours: dict, day: date, local: datetime) -> bool:
    if not hours:
        return day.weekday() < 5  # an always-open service follows the office week in the demo's past
    return any(start <= local.time() < end for start, end in periods_on(hours, day))


def _played_days(session: Session, site_ids: list[int], first: date, last: date) -> set[tuple[int, date]]:
    """(site, day) pairs of the range that already have tickets or a roll-up: never played again."""
    tickets = session.exec(
        select(col(Ticket.site_id), col(Ticket.service_date))
        .where(col(Ticket.site_id).in_(site_ids), Ticket.service_date >= first, Ticket.service_date <= last)
        .group_by(col(Ticket.site_id), col(Ticket.service_date))
        .having(func.count() > 0)
    ).all()
    rolled = session.exec(
        select(col(StatsRolledDay.site_id), col(StatsRolledDay.day)).where(
            col(StatsRolledDay.site_id).in_(site_ids), StatsRolledDay.day >= first, StatsRolledDay.day <= last
        )
    ).all()
    return {(s, d) for s, d in [*tickets, *rolled]}


def fill_history(session: Session, now: datetime, days: int = 30, seed: int = 2026) -> dict[str, int]:
    """Plays the `days` days before today for every site that has none of them yet; commits per day."""
    today = local_date(now)
    first, last = today - timedelta(days=days), today - timedelta(days=1)
    sites = session.exec(select(Site).order_by(col(Site.id))).all()
    shapes = [shape for shape in (site_shape(session, site) for site in sites) if shape.agencies]
    site_ids = [shape.id for shape in shapes]
    if days <= 0 or not shapes:
        return {"tickets": 0, "events": 0, "days": 0}
    done = _played_days(session, site_ids, first, last)
    return play_days(
        session,
        shapes,
        first,
        last,
        random.Random(seed + first.toordinal()),
        volume=1.0,
        rollup_until=today,
        now=now,
        plan=demo_plan(receiving_hours(session, site_ids)),
        wanted=lambda shape, day: (shape.id, day) not in done,
    )
