"""Statistics definitions, computed from the append-only ticket event log.

Every figure is put in the bucket (local day and hour, Asia/Ho_Chi_Minh) of the event that completes it,
and on the site, agency, service, counter and clerk recorded with that event; priority and channel are
those of the ticket. So a day's figures depend only on that day's events (plus, for a wait or a service
time, the earlier events of the same ticket), and a finished day never changes again.

arrivals (issued)
    one per `issued` event, on the service the citizen chose, at the hour of issue; no counter, no clerk.
wait
    first call − issue, once per ticket, at its FIRST `called` event (counter and clerk of that call).
    Recalls do not change it. Waiting again after a hold or a transfer is not part of the wait (the citizen
    had already been called once); tickets that end as no-shows keep the wait of their first call.
    "within target" = wait ≤ the service's target wait (Service.target_wait_minutes, as configured when the
    figure is computed). The wait distribution uses buckets of < 2, 5, 10, 15, 20, 30, 45, 60, 90 and
    ≥ 90 minutes; p90 over a roll-up is interpolated inside its bucket, whose upper end is capped by the
    longest wait (exact, nearest rank, for the live "today").
served and service time
    one per `finished` event, on the service, counter and clerk that finished it (after a transfer: the
    target service). Service time = finish − the latest `started` of the ticket after its latest call; when
    the clerk finished without pressing Start after that call (the log then has an implicit start at the
    finish, or none for a ticket started before a transfer), the latest call or recall is the start.
    "within target" = service time ≤ Service.target_service_minutes.
transfers
    `transferred` counts once as transferred_out on the service the ticket left (and its agency) and once
    as transferred_in on the target service; the ticket keeps its single wait and is served (counted) where
    it finishes.
holds
    `held` and `returned` are counted; the time away is neither wait nor service time; a service period
    interrupted by a hold is not counted (the final period, after the return, is).
no-shows, recalls, cancellations
    one per `no_show`, `recalled`, `cancelled` event. No-show rate = no-shows ÷ first calls.
satisfaction
    one rating per `rated` event, on the counter of the ticket and the clerk who finished it, on the day
    the citizen rated. Satisfaction = (very satisfied + satisfied) ÷ all ratings (neutral counts as not
    satisfied).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import String, case, select, type_coerce
from sqlmodel import Session, col

from server.clock import LOCAL_TZ, local_midnight
from server.domain.vocabulary import EventKind, RatingScore
from server.models import Service, Ticket, TicketEvent
from server.stats.models import MEASURES, WAIT_BUCKETS

INDEX = {name: i for i, name in enumerate(MEASURES)}
SCORE_COLUMN = {
    RatingScore.VERY_SATISFIED: "r_very",
    RatingScore.SATISFIED: "r_sat",
    RatingScore.NEUTRAL: "r_neutral",
    RatingScore.UNSATISFIED: "r_unsat",
}
# (day, hour, site_id, agency_id, service_id, counter_id, clerk_id, priority, channel)
Key = tuple[date, int, int, int, int, int, int, str, str]
KEY_FIELDS = ("day", "hour", "site_id", "agency_id", "service_id", "counter_id", "clerk_id", "priority", "channel")


@dataclass(frozen=True)
class Event:
    ticket_id: int
    kind: str
    at: datetime
    service_id: int
    agency_id: int
    counter_id: int | None
    user_id: int | None
    data: dict[str, Any]


@dataclass(frozen=True)
class TicketInfo:
    id: int
    site_id: int
    priority: str
    channel: str


@dataclass(frozen=True)
class ServiceInfo:
    agency_id: int
    target_wait_seconds: int
    target_service_seconds: int


def wait_bucket(seconds: int) -> int:
    minutes = seconds / 60
    for index, bound in enumerate(WAIT_BUCKETS):
        if minutes < bound:
            return index
    return len(WAIT_BUCKETS)


@dataclass
class Tally:
    """Measure sums per key; `waits` keeps exact wait samples (seconds) per service when asked (live today)."""

    rows: dict[Key, list[int]] = field(default_factory=dict)
    keep_waits: bool = False
    waits: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    called_ids: set[int] = field(default_factory=set)
    finished_ids: set[int] = field(default_factory=set)
    rated_ids: set[int] = field(default_factory=set)

    def add(self, key: Key, **measures: int) -> None:
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = [0] * len(MEASURES)
        for name, value in measures.items():
            if name == "wait_max":
                row[INDEX[name]] = max(row[INDEX[name]], value)
            else:
                row[INDEX[name]] += value


def _seconds(later: datetime, earlier: datetime) -> int:
    return max(0, int((later - earlier).total_seconds()))


def tally_ticket(
    tally: Tally,
    ticket: TicketInfo,
    events: Iterable[Event],
    services: dict[int, ServiceInfo],
    start: datetime,
    end: datetime,
) -> None:
    """Adds the figures completed inside [start, end) by one ticket's events (all of them up to `end`, in order)."""
    issued_at: datetime | None = None
    first_called = False
    last_call: datetime | None = None
    last_start: datetime | None = None
    finishing_clerk = 0

    def key(
        event: Event,
        service_id: int | None = None,
        agency_id: int | None = None,
        counter: int | None = None,
        clerk: int | None = None,
    ) -> Key:
        local = event.at.astimezone(LOCAL_TZ)
        return (
            local.date(),
            local.hour,
            ticket.site_id,
            agency_id if agency_id is not None else event.agency_id,
            service_id if service_id is not None else event.service_id,
            (event.counter_id or 0) if counter is None else counter,
            (event.user_id or 0) if clerk is None else clerk,
            ticket.priority,
            ticket.channel,
        )

    for event in events:
        inside = start <= event.at < end
        kind = event.kind
        if kind == EventKind.ISSUED:
            issued_at = event.at
            if inside:
                tally.add(key(event, counter=0, clerk=0), issued=1)
        elif kind == EventKind.CALLED:
            last_call, last_start = event.at, None
            if not first_called:
                first_called = True
                if inside and issued_at is not None:
                    wait = _seconds(event.at, issued_at)
                    target = services[event.service_id].target_wait_seconds if event.service_id in services else 0
                    tally.add(
                        key(event),
                        called=1,
                        wait_sum=wait,
                        wait_max=wait,
                        within_target=int(wait <= target),
                        **{f"w{wait_bucket(wait)}": 1},
                    )
                    if tally.keep_waits:
                        tally.waits[event.service_id].append(wait)
                        tally.called_ids.add(ticket.id)
        elif kind == EventKind.RECALLED:
            last_call = event.at
            if inside:
                tally.add(key(event), recalled=1)
        elif kind == EventKind.STARTED:
            last_start = (last_call or event.at) if event.data.get("implicit") else event.at
        elif kind == EventKind.FINISHED:
            finishing_clerk = event.user_id or 0
            if inside:
                began = last_start or last_call or event.at
                seconds = _seconds(event.at, began)
                target = services[event.service_id].target_service_seconds if event.service_id in services else 0
                tally.add(key(event), served=1, service_sum=seconds, service_within=int(seconds <= target))
                if tally.keep_waits:
                    tally.finished_ids.add(ticket.id)
            last_start = None
        elif kind == EventKind.TRANSFERRED:
            last_start = None
            if inside:
                tally.add(key(event), transferred_in=1)
                source = int(event.data.get("from_service_id") or 0)
                source_agency = services[source].agency_id if source in services else event.agency_id
                tally.add(key(event, service_id=source, agency_id=source_agency), transferred_out=1)
        elif kind == EventKind.HELD:
            last_start = None
            if inside:
                tally.add(key(event), held=1)
        elif kind in (EventKind.RETURNED, EventKind.NO_SHOW, EventKind.CANCELLED):
            if inside:
                tally.add(key(event), **{str(kind): 1})
        elif kind == EventKind.RATED and inside:
            column = SCORE_COLUMN.get(str(event.data.get("score", "")))
            if column:
                tally.add(key(event, clerk=finishing_clerk), ratings=1, **{column: 1})
                if tally.keep_waits:
                    tally.rated_ids.add(ticket.id)


# ---------------------------------------------------------------- reading the log


def day_window(day: date) -> tuple[datetime, datetime]:
    return local_midnight(day), local_midnight(day + timedelta(days=1))


def service_infos(session: Session, site_ids: list[int] | None = None) -> dict[int, ServiceInfo]:
    statement = select(Service.id, Service.agency_id, Service.target_wait_minutes, Service.target_service_minutes)
    if site_ids is not None:
        statement = statement.where(col(Service.site_id).in_(site_ids))
    return {
        sid: ServiceInfo(agency, wait * 60, service * 60) for sid, agency, wait, service in session.execute(statement)
    }


def _chunks(values: list[int], size: int = 2000) -> Iterable[list[int]]:
    for index in range(0, len(values), size):
        yield values[index : index + size]


DATA_KINDS = (EventKind.STARTED, EventKind.TRANSFERRED, EventKind.RATED)


def _utc(value: Any) -> datetime:
    """A stored naive-UTC instant (text on SQLite, datetime on PostgreSQL) as an aware UTC datetime."""
    instant = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return instant.replace(tzinfo=UTC)


def tally_window(
    session: Session,
    site_ids: int | list[int],
    start: datetime,
    end: datetime,
    tally: Tally,
    services: dict[int, ServiceInfo],
) -> int:
    """Adds the sites' figures completed in [start, end) to `tally`; returns the number of events in the window.

    Reads with Core (no ORM objects): the tickets touched in the window, then all their events up to `end`.
    """
    site_ids = [site_ids] if isinstance(site_ids, int) else list(site_ids)
    events_table, tickets_table = TicketEvent.__table__, Ticket.__table__
    connection = session.connection()
    ticket_ids: list[int] = []
    for sites in _chunks(site_ids, 500):
        ticket_ids += (
            connection.execute(
                select(events_table.c.ticket_id)
                .where(events_table.c.site_id.in_(sites), events_table.c.at >= start, events_table.c.at < end)
                .distinct()
            )
            .scalars()
            .all()
        )
    in_window = 0
    for chunk in _chunks(sorted(set(ticket_ids))):
        tickets = {
            tid: TicketInfo(tid, site, priority or "", channel or "")
            for tid, site, priority, channel in connection.execute(
                select(
                    tickets_table.c.id, tickets_table.c.site_id, tickets_table.c.priority, tickets_table.c.channel
                ).where(tickets_table.c.id.in_(chunk))
            )
        }
        # `at` is read raw and parsed with fromisoformat (much faster than the generic SQLite DATETIME parsing);
        # `data` is only decoded for the kinds that use it.
        rows = connection.execute(
            select(
                events_table.c.ticket_id,
                events_table.c.kind,
                type_coerce(events_table.c.at, String),
                events_table.c.service_id,
                events_table.c.agency_id,
                events_table.c.counter_id,
                events_table.c.user_id,
                type_coerce(case((events_table.c.kind.in_(DATA_KINDS), events_table.c.data), else_=None), String),
            )
            .where(events_table.c.ticket_id.in_(chunk), events_table.c.at < end)
            .order_by(events_table.c.ticket_id, events_table.c.at, events_table.c.id)
        ).fetchall()
        current: list[Event] = []
        current_id = None
        for row in rows:
            data = row[7]
            event = Event(
                row[0],
                row[1],
                _utc(row[2]),
                row[3],
                row[4],
                row[5],
                row[6],
                (json.loads(data) if isinstance(data, str) else data) if data is not None else {},
            )
            in_window += start <= event.at
            if event.ticket_id != current_id:
                if current:
                    tally_ticket(tally, tickets[current_id], current, services, start, end)
                current, current_id = [], event.ticket_id
            current.append(event)
        if current:
            tally_ticket(tally, tickets[current_id], current, services, start, end)
    return in_window


def tally_sites(
    session: Session, site_ids: list[int], start: datetime, end: datetime, keep_waits: bool = False
) -> Tally:
    """The figures of the sites completed in [start, end); memoised for the session (one request)."""
    cache = session.info.setdefault("luot.tallies", {})
    key = (tuple(sorted(site_ids)), start, end, keep_waits)
    if key not in cache:
        tally = Tally(keep_waits=keep_waits)
        tally_window(session, site_ids, start, end, tally, service_infos(session, site_ids))
        cache[key] = tally
    return cache[key]
