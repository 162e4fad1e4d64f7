"""A synthetic year for a one-level province: 1 centre (the demo's 20 agencies), 9 district branches and 91
commune points — 101 sites — with realistic arrivals, written straight into the database in bulk.

Arrivals per site follow a day profile with the two peaks seen at Vietnamese centres (8:00–10:30 and
13:30–15:00, closed 11:30–13:30), more on Mondays and before Tết, fewer in summer, none at weekends or on
public holidays; each agency gets a share. Each agency's line is played through its counters (first come,
first served, random service times around the service's typical minutes), with recalls, no-shows,
transfers, holds and ratings at plausible rates. A rating is written as the rating use case writes it
(server.domain.rating.rate): a `rating` row and its `rated` event with the same score, source, reasons and
instant (a negative score picks one or two of the site's reasons). Tickets, events and ratings go in with
executemany; each
finished day's roll-up is computed from the same events with the same code as `luot stats rollup`
(server.stats.compute), so the roll-ups and the log agree. Deterministic for a given seed.
"""

from __future__ import annotations

import logging
import math
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlmodel import Session, col

from server.auth import hash_password
from server.clock import LOCAL_TZ
from server.demo_data import AGENCIES
from server.domain.vocabulary import DEFAULT_RATING_REASONS, DEFAULT_REASON_SCORES, PRIORITY_CODES, RatingSource
from server.models import (
    Agency,
    Counter,
    CounterService,
    DailyNumber,
    NumberSequence,
    Rating,
    Service,
    Site,
    Ticket,
    TicketEvent,
    User,
    table_of,
)
from server.stats.compute import Event, ServiceInfo, Tally, TicketInfo, tally_ticket
from server.stats.models import StatsRolledDay
from server.stats.rollup import store_tally

log = logging.getLogger(__name__)

HOUR_PROFILE = {7: 0.5, 8: 1.6, 9: 1.8, 10: 1.4, 11: 0.5, 13: 0.6, 14: 1.5, 15: 1.1, 16: 0.6}
WEEKDAY_FACTOR = {0: 1.25, 1: 1.0, 2: 1.0, 3: 0.95, 4: 0.9}
MONTH_FACTOR = {1: 1.3, 2: 0.7, 3: 1.05, 4: 1.0, 5: 0.95, 6: 0.9, 7: 0.85, 8: 0.9, 9: 1.0, 10: 1.05, 11: 1.05, 12: 1.2}
PROFILE_WEIGHT = sum(HOUR_PROFILE.values())
HOLIDAYS = {(1, 1), (4, 30), (5, 1), (9, 2), (9, 3)}
SCORES = (("very_satisfied", 0.68), ("satisfied", 0.27), ("unsatisfied", 0.05))


@dataclass
class SiteShape:
    """The created site as the simulation needs it."""

    id: int
    kind: str
    daily: float  # mean arrivals per ordinary day
    first_numbers: dict[int, int] = field(default_factory=dict)  # sequence id → first number
    agencies: list[tuple[int, float, list[tuple[int, int, float]], list[tuple[int, int | None]]]] = field(
        default_factory=list
    )  # (agency id, share, [(service id, sequence id, minutes)], [(counter id, clerk id or None)])
    #: the site's reason chips and the scores that offer them (server.domain.rules.SiteRules)
    rating_reasons: tuple[str, ...] = DEFAULT_RATING_REASONS
    rating_reason_scores: tuple[str, ...] = DEFAULT_REASON_SCORES


def _lunar_new_year(year: int) -> date:
    known = {
        2024: date(2024, 2, 10),
        2025: date(2025, 1, 29),
        2026: date(2026, 2, 17),
        2027: date(2027, 2, 6),
        2028: date(2028, 1, 26),
    }
    return known.get(year, date(year, 2, 5))


def day_factor(day: date) -> float:
    """0 on closed days; otherwise the weekday × season multiplier."""
    if day.weekday() > 4 or (day.month, day.day) in HOLIDAYS:
        return 0.0
    tet = _lunar_new_year(day.year)
    if tet - timedelta(days=2) <= day <= tet + timedelta(days=5):
        return 0.0
    factor = WEEKDAY_FACTOR[day.weekday()] * MONTH_FACTOR[day.month]
    if tet - timedelta(days=20) <= day < tet - timedelta(days=2):
        factor *= 1.35  # the rush before Tết
    return factor


#: (agency id, day) → the hours of HOUR_PROFILE at which the agency receives that day (None: all of them).
OpenHours = Callable[[int, date], dict[int, float] | None]


@dataclass(frozen=True)
class DayPlan:
    """Which days and hours are played: `factor_of(day)` scales a day's arrivals (0 = closed), `profile_of`
    (agency, day) gives the hours the agency receives (default: all of HOUR_PROFILE on open days)."""

    factor_of: Callable[[date], float] = day_factor
    profile_of: OpenHours | None = None


# ---------------------------------------------------------------- the province


def create_province(session: Session, sites: int = 101, password: str = "synthetic-pass") -> list[SiteShape]:
    """Creates the sites, agencies, services, counters and one clerk per counter; returns their shapes."""
    hashed = hash_password(password)  # once: argon2 per user would take minutes
    shapes: list[SiteShape] = []
    for index in range(sites):
        if index == 0:
            kind, code, name, daily = "centre", "TT", "Trung tâm Phục vụ hành chính công tỉnh", 1500.0
            plan = [
                (a_code, a_name, counters, [(s_code, s_name, minutes) for s_code, s_name, minutes in services])
                for a_code, a_name, _en, counters, services in AGENCIES
            ]
        elif index <= 9:
            kind, code, name, daily = "branch", f"CN{index:02d}", f"Chi nhánh số {index}", 220.0
            plan = [
                ("UBND", "Ủy ban nhân dân huyện", 3, [("DD", "Đất đai", 10), ("HT", "Hộ tịch", 5)]),
                ("TN", "Tiếp nhận liên thông", 2, [("LT", "Liên thông", 6), ("TKQ", "Trả kết quả", 3)]),
            ]
        else:
            kind, code, name, daily = "point", f"X{index:03d}", f"Điểm tiếp nhận xã số {index}", 25.0
            plan = [
                ("UBNDX", "Ủy ban nhân dân xã", 1 + index % 2, [("TN", "Tiếp nhận hồ sơ", 6), ("CT", "Chứng thực", 3)])
            ]
        site = Site(code=code, name=name, kind=kind)
        session.add(site)
        session.flush()
        shape = SiteShape(site.id or 0, kind, daily)
        counter_number = 1
        total_weight = sum(counters for _c, _n, counters, _s in plan)
        for order, (a_code, a_name, counters, services) in enumerate(plan):
            agency = Agency(site_id=site.id or 0, code=a_code, name=a_name, sort_order=order)
            session.add(agency)
            session.flush()
            sequence = NumberSequence(
                site_id=site.id or 0,
                code=a_code,
                first_number=(order + 1) * 1000 + 1,
                last_number=(order + 1) * 1000 + 999,
            )
            session.add(sequence)
            session.flush()
            shape.first_numbers[sequence.id or 0] = sequence.first_number
            created = []
            for s_order, (s_code, s_name, minutes) in enumerate(services):
                service = Service(
                    site_id=site.id or 0,
                    agency_id=agency.id or 0,
                    sequence_id=sequence.id or 0,
                    code=s_code if kind == "centre" else f"{a_code}-{s_code}",
                    name=s_name,
                    default_service_minutes=minutes,
                    target_wait_minutes=15,
                    target_service_minutes=max(20, int(minutes * 2)),
                    sort_order=s_order,
                )
                session.add(service)
                session.flush()
                created.append((service.id or 0, sequence.id or 0, float(minutes)))
            staff: list[tuple[int, int | None]] = []
            for _ in range(counters):
                clerk = User(
                    username=f"{code.lower()}-clerk{counter_number:02d}",
                    password_hash=hashed,
                    role="clerk",
                    site_id=site.id,
                    full_name=f"Cán bộ {code} quầy {counter_number}",
                )
                counter = Counter(site_id=site.id or 0, number=counter_number, name=f"Quầy {counter_number}")
                session.add_all([clerk, counter])
                session.flush()
                session.add_all([CounterService(counter_id=counter.id or 0, service_id=sid) for sid, _q, _m in created])
                staff.append((counter.id or 0, clerk.id or 0))
                counter_number += 1
            shape.agencies.append((agency.id or 0, counters / total_weight, created, staff))
        manager = User(
            username=f"{code.lower()}-manager",
            password_hash=hashed,
            role="manager",
            site_id=site.id,
            full_name=f"Lãnh đạo {code}",
        )
        session.add(manager)
        shapes.append(shape)
    session.flush()
    return shapes


# ---------------------------------------------------------------- one day of one site


@dataclass
class DayOutput:
    """One day's rows, as inserted: tickets, their events, their `rating` rows, and the last number per
    (sequence, day)."""

    tickets: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    ratings: list[dict[str, Any]] = field(default_factory=list)
    numbers: dict[tuple[int, date], int] = field(default_factory=dict)


def rating_reasons(shape: SiteShape, ticket_id: int, score: str) -> list[str]:
    """The reasons a citizen chose with `score`: one or two of the site's chips after a score that offers them
    (as server.domain.rating accepts), none otherwise. Drawn from a generator of the ticket's own (seeded by its
    id), so the day's other draws, and thus the rest of the data, stay as they were without reasons."""
    if score not in shape.rating_reason_scores or not shape.rating_reasons:
        return []
    draw = random.Random(ticket_id)
    return draw.sample(shape.rating_reasons, min(len(shape.rating_reasons), 1 + (draw.random() < 0.3)))


def rating_row(
    ticket: dict[str, Any], score: str, reasons: list[str], at: datetime, source: str = RatingSource.TABLET
) -> dict[str, Any]:
    """The `rating` row server.domain.rating.rate writes for `ticket` (a generated ticket row): on its site,
    agency, final service, counter and the clerk who finished it, with no comment."""
    return {
        "ticket_id": ticket["id"],
        "site_id": ticket["site_id"],
        "agency_id": ticket["agency_id"],
        "service_id": ticket["service_id"],
        "counter_id": ticket["counter_id"],
        "clerk_id": ticket["clerk_id"],
        "score": score,
        "comment": "",
        "source": source,
        "at": at,
        "reasons": reasons,
    }


def _at(day: date, minutes: float) -> datetime:
    """Local minutes after midnight → aware UTC."""
    local = datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ) + timedelta(minutes=minutes)
    return local.astimezone(UTC)


def _arrival_minutes(
    rng: random.Random, day: date, mean: float, profile: dict[int, float] = HOUR_PROFILE
) -> list[float]:
    """Arrival times (local minutes) for a day with `mean` expected arrivals, following `profile` (hour →
    weight, a part of HOUR_PROFILE)."""
    total_weight = sum(profile.values())
    times = []
    for hour, weight in profile.items():
        expected = mean * weight / total_weight
        count = _poisson(rng, expected)
        start = hour * 60 + (30 if hour == 7 else 0)
        length = 30 if hour == 11 else (30 if hour == 7 else 60)
        times += [start + rng.random() * length for _ in range(count)]
    return sorted(times)


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def simulate_site_day(
    rng: random.Random,
    shape: SiteShape,
    day: date,
    volume: float,
    next_id: Callable[[], int],
    out: DayOutput,
    plan: DayPlan | None = None,
) -> None:
    plan = plan or DayPlan()
    factor = plan.factor_of(day) * volume
    if factor == 0:
        return
    for agency_id, share, services, staff in shape.agencies:
        profile = plan.profile_of(agency_id, day) if plan.profile_of else HOUR_PROFILE
        if not profile:
            continue
        mean = shape.daily * share * factor * rng.uniform(0.85, 1.15) * sum(profile.values()) / PROFILE_WEIGHT
        arrivals = _arrival_minutes(rng, day, mean, profile)
        free_at = [8 * 60 - 30.0 + rng.random() * 10 for _ in staff]  # counters open around 7:30
        weights = [1.0 / (i + 1) for i in range(len(services))]
        for minute in arrivals:
            service_id, sequence_id, mean_minutes = rng.choices(services, weights)[0]
            number_key = (sequence_id, day)
            number = out.numbers.get(number_key, shape.first_numbers[sequence_id] - 1) + 1
            out.numbers[number_key] = number
            slot = min(range(len(staff)), key=lambda i: free_at[i])
            counter_id, clerk_id = staff[slot]
            if 11 * 60 + 30 <= free_at[slot] < 13 * 60 + 30:
                free_at[slot] = 13 * 60 + 30  # lunch
            call = max(minute, free_at[slot]) + rng.random() * 0.5
            ticket_id = next_id()
            priority = rng.choice(PRIORITY_CODES) if rng.random() < 0.08 else ""
            roll = rng.random()
            channel = "appointment" if roll < 0.08 else "staff" if roll < 0.12 else "kiosk"
            events: list[tuple[str, float, int, int | None, int | None, dict[str, Any]]] = [
                ("issued", minute, service_id, None, None, {"channel": channel, "priority": priority}),
                ("called", call, service_id, counter_id, clerk_id, {}),
            ]
            status, finished = "done", None
            outcome = rng.random()
            cursor = call
            if outcome < 0.03:  # nobody comes: recall, then no-show
                events += [
                    ("recalled", call + 1, service_id, counter_id, clerk_id, {}),
                    ("no_show", call + 2.5, service_id, counter_id, clerk_id, {"reason": "clerk"}),
                ]
                status, cursor = "no_show", call + 2.5
            else:
                if rng.random() < 0.06:
                    events.append(("recalled", call + 0.2, service_id, counter_id, clerk_id, {}))
                start = cursor + 0.3 + rng.random() * 0.7
                events.append(("started", start, service_id, counter_id, clerk_id, {}))
                length = rng.expovariate(1 / mean_minutes) * 0.6 + mean_minutes * 0.4
                if outcome < 0.05 and len(services) > 1:  # transferred to another service of the agency
                    target = next(s for s in services if s[0] != service_id)
                    events += [
                        (
                            "transferred",
                            start + length / 2,
                            target[0],
                            counter_id,
                            clerk_id,
                            {"from_service_id": service_id, "to_service_id": target[0]},
                        ),
                        ("called", start + length / 2 + 1, target[0], counter_id, clerk_id, {}),
                        ("started", start + length / 2 + 1.5, target[0], counter_id, clerk_id, {}),
                    ]
                    service_id, start = target[0], start + length / 2 + 1.5
                    length = rng.expovariate(1 / target[2]) * 0.6 + target[2] * 0.4
                elif outcome < 0.07:  # held: fetches a document, comes back
                    back = start + length / 3 + 5 + rng.random() * 20
                    events += [
                        ("held", start + length / 3, service_id, counter_id, clerk_id, {"note": ""}),
                        ("returned", back, service_id, counter_id, clerk_id, {}),
                        ("called", back + 1, service_id, counter_id, clerk_id, {}),
                        ("started", back + 1.5, service_id, counter_id, clerk_id, {}),
                    ]
                    start = back + 1.5
                finished = start + length
                events.append(("finished", finished, service_id, counter_id, clerk_id, {}))
                cursor = finished
                if rng.random() < 0.6:
                    score = rng.choices([s for s, _w in SCORES], [w for _s, w in SCORES])[0]
                    rated = {"score": score, "source": RatingSource.TABLET, "reasons": []}
                    rated["reasons"] = rating_reasons(shape, ticket_id, score)
                    events.append(("rated", finished + 0.5, service_id, counter_id, None, rated))
            free_at[slot] = cursor + 0.3
            first_call = _at(day, call)
            out.tickets.append(
                {
                    "id": ticket_id,
                    "site_id": shape.id,
                    "service_id": service_id,
                    "agency_id": agency_id,
                    "origin_service_id": events[0][2],
                    "sequence_id": sequence_id,
                    "service_date": day,
                    "number": number,
                    "display_number": str(number),
                    "priority": priority,
                    "channel": channel,
                    "appointment_at": None,
                    "status": status,
                    "issued_at": _at(day, minute),
                    "queue_since": _at(day, minute),
                    "first_called_at": first_call,
                    "called_at": first_call,
                    "started_at": None if status != "done" else _at(day, cursor - length),
                    "finished_at": _at(day, finished) if finished else None,
                    "counter_id": counter_id,
                    "clerk_id": clerk_id,
                    "recall_count": sum(1 for e in events if e[0] == "recalled"),
                    "transfer_count": sum(1 for e in events if e[0] == "transferred"),
                    "hold_note": "",
                    "tracking_token": f"syn{ticket_id}",
                    "issuer_key": "synthetic",
                    "idempotency_key": None,
                    "estimated_wait_minutes": None,
                }
            )
            for kind, when, sid, cid, uid, data in events:
                if kind == "rated":
                    out.ratings.append(rating_row(out.tickets[-1], data["score"], data["reasons"], _at(day, when)))
                out.events.append(
                    {
                        "ticket_id": ticket_id,
                        "site_id": shape.id,
                        "kind": kind,
                        "at": _at(day, when),
                        "service_id": sid,
                        "agency_id": agency_id,
                        "counter_id": cid,
                        "user_id": uid,
                        "data": data,
                    }
                )


# ---------------------------------------------------------------- the year


def generate(
    session: Session,
    first: date,
    last: date,
    *,
    sites: int = 101,
    volume: float = 1.0,
    seed: int = 2024,
    rollup_until: date | None = None,
    now: datetime | None = None,
    progress: Callable[[date, int], None] | None = None,
) -> dict[str, int]:
    """Creates the province and plays every day of [first, last]; rolls up days before `rollup_until`
    (default: `last`, i.e. the last day stays live like "today"). Commit is the caller's (or per day batch
    when `session` is bound to a connection that commits)."""
    shapes = create_province(session, sites)
    return play_days(
        session,
        shapes,
        first,
        last,
        random.Random(seed),
        volume=volume,
        rollup_until=rollup_until or last,
        now=now or datetime.now(UTC),
        progress=progress,
    )


def play_days(
    session: Session,
    shapes: list[SiteShape],
    first: date,
    last: date,
    rng: random.Random,
    *,
    volume: float,
    rollup_until: date,
    now: datetime,
    plan: DayPlan | None = None,
    wanted: Callable[[SiteShape, date], bool] | None = None,
    progress: Callable[[date, int], None] | None = None,
) -> dict[str, int]:
    """Plays the sites' days of [first, last] into the log (those `wanted` says, default all), rolls up the
    days before `rollup_until` and commits after each day."""
    ids = iter(
        range(
            (session.execute(select(col(Ticket.id)).order_by(col(Ticket.id).desc()).limit(1)).scalar() or 0) + 1, 10**12
        )
    )
    played = {sid for shape in shapes for _a, _s, svc, _st in shape.agencies for sid, _q, _m in svc}
    targets = {row.id: row for row in session.execute(select(Service)).scalars()}
    services = {
        sid: ServiceInfo(
            targets[sid].agency_id, targets[sid].target_wait_minutes * 60, targets[sid].target_service_minutes * 60
        )
        for sid in played
    }
    totals = {"tickets": 0, "events": 0, "days": 0}
    day = first
    while day <= last:
        out = DayOutput()
        todays = [shape for shape in shapes if wanted is None or wanted(shape, day)]
        first_numbers = {q: n for shape in todays for q, n in shape.first_numbers.items()}
        for shape in todays:
            simulate_site_day(rng, shape, day, volume, lambda: next(ids), out, plan)
        if out.tickets:
            session.connection().execute(insert(table_of(Ticket)), out.tickets)
            for start in range(0, len(out.events), 20000):
                session.connection().execute(insert(table_of(TicketEvent)), out.events[start : start + 20_000])
            if out.ratings:
                session.connection().execute(insert(table_of(Rating)), out.ratings)
            session.connection().execute(
                insert(table_of(DailyNumber)),
                [  # `last_value` is the day's ordinal (server.domain.numbering), not the last number
                    {"sequence_id": q, "service_date": d, "last_value": v - first_numbers[q] + 1}
                    for (q, d), v in out.numbers.items()
                ],
            )
        if day < rollup_until and todays:
            _rollup_generated(session, todays, out, services, day, now)
        totals["tickets"] += len(out.tickets)
        totals["events"] += len(out.events)
        totals["days"] += 1
        if progress:
            progress(day, len(out.tickets))
        session.commit()
        day += timedelta(days=1)
    return totals


def _rollup_generated(
    session: Session,
    shapes: list[SiteShape],
    out: DayOutput,
    services: dict[int, ServiceInfo],
    day: date,
    now: datetime,
) -> None:
    """The day's roll-up from the events just generated (same computation as rollup_day, without re-reading)."""
    start = datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ).astimezone(UTC)
    end = start + timedelta(days=1)
    by_ticket: dict[int, list[Event]] = defaultdict(list)
    for e in out.events:
        by_ticket[e["ticket_id"]].append(
            Event(
                e["ticket_id"],
                e["kind"],
                e["at"],
                e["service_id"],
                e["agency_id"],
                e["counter_id"],
                e["user_id"],
                e["data"],
            )
        )
    tally = Tally()
    counts: dict[int, int] = defaultdict(int)
    for ticket in out.tickets:
        events = sorted(by_ticket[ticket["id"]], key=lambda e: e.at)
        counts[ticket["site_id"]] += sum(1 for e in events if start <= e.at < end)
        tally_ticket(
            tally,
            TicketInfo(ticket["id"], ticket["site_id"], ticket["priority"], ticket["channel"]),
            events,
            services,
            start,
            end,
        )
    store_tally(session, tally)
    session.connection().execute(
        insert(table_of(StatsRolledDay)),
        [{"day": day, "site_id": s.id, "rolled_at": now, "events": counts[s.id]} for s in shapes],
    )
