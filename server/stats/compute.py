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
    ≥ 90 minutes (the chart); the p90 is the nearest rank over the exact waits (`Tally.samples`, kept in the
    roll-ups as blobs and live as sorted lists: server.stats.waits), the same live and in history.
wait to last call (what Qmatic reports)
    the ticket's latest call or recall − issue, once per ticket at the `finished` or `no_show` event that ends
    it (wait_last_n, wait_last_sum), on that event's service, counter and clerk.
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
    one rating per `rated` event from a citizen source (`tablet`, `phone`; an old `staff` rating is never
    counted), on the counter of the ticket and the clerk who finished it, on the day the citizen rated.
    Satisfaction = (very satisfied + satisfied) ÷ citizen ratings (neutral counts as not satisfied).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import String, case, select, type_coerce
from sqlmodel import Session, col

from server.clock import LOCAL_TZ, local_midnight
from server.domain.vocabulary import CITIZEN_SOURCES, EventKind, RatingScore
from server.models import Service, Ticket, TicketEvent, table_of
from server.stats.models import MEASURES, WAIT_BUCKETS

INDEX = {name: i for i, name in enumerate(MEASURES)}
SCORE_COLUMN: dict[str, str] = {
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
    """Measure sums per key, and the exact wait samples (seconds) counted in each key (`samples`, for the p90:
    see server.stats.waits). `project` maps a full key to the key rows are kept under (the live figures keep
    one row per (site, service)); identity by default."""

    rows: dict[Any, list[int]] = field(default_factory=dict)
    samples: dict[Any, list[int]] = field(default_factory=lambda: defaultdict(list))
    project: Any = None

    def add(self, key: Key, **measures: int) -> None:
        if self.project is not None:
            key = self.project(key)
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = [0] * len(MEASURES)
        for name, value in measures.items():
            if name == "wait_max":
                row[INDEX[name]] = max(row[INDEX[name]], value)
            else:
                row[INDEX[name]] += value

    def add_wait(self, key: Key, seconds: int) -> None:
        self.samples[self.project(key) if self.project is not None else key].append(seconds)


def _seconds(later: datetime, earlier: datetime) -> int:
    return max(0, int((later - earlier).total_seconds()))


@dataclass
class TicketTally:
    """One ticket's progress through its events, fed one event at a time in log order (the roll-ups feed a
    whole ticket at once, the live figures each event as it commits): the same rules either way."""

    ticket: TicketInfo
    issued_at: datetime | None = None
    first_called: bool = False
    last_call: datetime | None = None
    last_start: datetime | None = None
    finishing_clerk: int = 0

    def key(
        self,
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
            self.ticket.site_id,
            agency_id if agency_id is not None else event.agency_id,
            service_id if service_id is not None else event.service_id,
            (event.counter_id or 0) if counter is None else counter,
            (event.user_id or 0) if clerk is None else clerk,
            self.ticket.priority,
            self.ticket.channel,
        )

    def feed(self, tally: Tally, event: Event, services: dict[int, ServiceInfo], inside: bool) -> None:
        """Takes one event; adds to `tally` the figures it completes when `inside` the counted window."""
        step = _STEPS.get(str(event.kind))
        if step is not None:
            step(self, tally, event, services, inside)

    def _issued(self, tally: Tally, event: Event, services: dict[int, ServiceInfo], inside: bool) -> None:
        self.issued_at = event.at
        if inside:
            tally.add(self.key(event, counter=0, clerk=0), issued=1)

    def _called(self, tally: Tally, event: Event, services: dict[int, ServiceInfo], inside: bool) -> None:
        self.last_call, self.last_start = event.at, None
        if self.first_called:
            return
        self.first_called = True
        if inside and self.issued_at is not None:
            wait = _seconds(event.at, self.issued_at)
            target = services[event.service_id].target_wait_seconds if event.service_id in services else 0
            tally.add(
                self.key(event),
                called=1,
                wait_sum=wait,
                wait_max=wait,
                within_target=int(wait <= target),
                **{f"w{wait_bucket(wait)}": 1},
            )
            tally.add_wait(self.key(event), wait)

    def _recalled(self, tally: Tally, event: Event, services: dict[int, ServiceInfo], inside: bool) -> None:
        self.last_call = event.at
        if inside:
            tally.add(self.key(event), recalled=1)

    def _started(self, tally: Tally, event: Event, services: dict[int, ServiceInfo], inside: bool) -> None:
        self.last_start = (self.last_call or event.at) if event.data.get("implicit") else event.at

    def _finished(self, tally: Tally, event: Event, services: dict[int, ServiceInfo], inside: bool) -> None:
        self.finishing_clerk = event.user_id or 0
        if inside:
            began = self.last_start or self.last_call or event.at
            seconds = _seconds(event.at, began)
            target = services[event.service_id].target_service_seconds if event.service_id in services else 0
            tally.add(self.key(event), served=1, service_sum=seconds, service_within=int(seconds <= target))
            self._wait_to_last_call(tally, event)
        self.last_start = None

    def _transferred(self, tally: Tally, event: Event, services: dict[int, ServiceInfo], inside: bool) -> None:
        self.last_start = None
        if inside:
            tally.add(self.key(event), transferred_in=1)
            source = int(event.data.get("from_service_id") or 0)
            source_agency = services[source].agency_id if source in services else event.agency_id
            tally.add(self.key(event, service_id=source, agency_id=source_agency), transferred_out=1)

    def _held(self, tally: Tally, event: Event, services: dict[int, ServiceInfo], inside: bool) -> None:
        self.last_start = None
        if inside:
            tally.add(self.key(event), held=1)

    def _counted(self, tally: Tally, event: Event, services: dict[int, ServiceInfo], inside: bool) -> None:
        """returned, no_show, cancelled: one each, in the column of that name (a no-show ends the wait)."""
        if inside:
            tally.add(self.key(event), **{str(event.kind): 1})
            if event.kind == EventKind.NO_SHOW:
                self._wait_to_last_call(tally, event)

    def _rated(self, tally: Tally, event: Event, services: dict[int, ServiceInfo], inside: bool) -> None:
        column = SCORE_COLUMN.get(str(event.data.get("score", "")))
        if inside and column and event.data.get("source") in CITIZEN_SOURCES:
            tally.add(self.key(event, clerk=self.finishing_clerk), ratings=1, **{column: 1})

    def _wait_to_last_call(self, tally: Tally, event: Event) -> None:
        """Wait to the last call (what Qmatic reports): the latest call or recall − issue, once per ticket at the
        `finished` or `no_show` that ends it, on that event's service, counter and clerk."""
        if self.last_call is not None and self.issued_at is not None:
            tally.add(self.key(event), wait_last_n=1, wait_last_sum=_seconds(self.last_call, self.issued_at))


_STEPS: dict[str, Callable[[TicketTally, Tally, Event, dict[int, ServiceInfo], bool], None]] = {
    EventKind.ISSUED: TicketTally._issued,
    EventKind.CALLED: TicketTally._called,
    EventKind.RECALLED: TicketTally._recalled,
    EventKind.STARTED: TicketTally._started,
    EventKind.FINISHED: TicketTally._finished,
    EventKind.TRANSFERRED: TicketTally._transferred,
    EventKind.HELD: TicketTally._held,
    EventKind.RETURNED: TicketTally._counted,
    EventKind.NO_SHOW: TicketTally._counted,
    EventKind.CANCELLED: TicketTally._counted,
    EventKind.RATED: TicketTally._rated,
}


def tally_ticket(
    tally: Tally,
    ticket: TicketInfo,
    events: Iterable[Event],
    services: dict[int, ServiceInfo],
    start: datetime,
    end: datetime,
) -> None:
    """Adds the figures completed inside [start, end) by one ticket's events (all of them up to `end`, in order)."""
    progress = TicketTally(ticket)
    for event in events:
        progress.feed(tally, event, services, start <= event.at < end)


# ---------------------------------------------------------------- reading the log


def day_window(day: date) -> tuple[datetime, datetime]:
    return local_midnight(day), local_midnight(day + timedelta(days=1))


def service_infos(session: Session, site_ids: list[int] | None = None) -> dict[int, ServiceInfo]:
    statement = select(
        col(Service.id), col(Service.agency_id), col(Service.target_wait_minutes), col(Service.target_service_minutes)
    )
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
    states: dict[int, TicketTally] | None = None,
    max_event_id: int | None = None,
) -> int:
    """Adds the sites' figures completed in [start, end) to `tally`; returns the number of events in the window.

    Reads with Core (no ORM objects): the tickets touched in the window, then all their events up to `end`.
    `states` (live figures) receives each ticket's progress, to be fed the later events; `max_event_id` ignores
    events committed after the one the caller saw last (they are fed later).
    """
    site_ids = [site_ids] if isinstance(site_ids, int) else list(site_ids)
    events_table, tickets_table = table_of(TicketEvent), table_of(Ticket)
    connection = session.connection()
    ticket_ids: list[int] = []
    for sites in _chunks(site_ids, 500):
        ticket_ids += (
            connection.execute(
                select(events_table.c.ticket_id)
                .where(
                    events_table.c.site_id.in_(sites),
                    events_table.c.at >= start,
                    events_table.c.at < end,
                    *([events_table.c.id <= max_event_id] if max_event_id is not None else []),
                )
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
            select(*event_columns())
            .where(
                events_table.c.ticket_id.in_(chunk),
                events_table.c.at < end,
                *([events_table.c.id <= max_event_id] if max_event_id is not None else []),
            )
            .order_by(events_table.c.ticket_id, events_table.c.at, events_table.c.id)
        ).fetchall()
        progress: TicketTally | None = None
        for row in rows:
            event = event_of(row)
            in_window += start <= event.at
            if progress is None or progress.ticket.id != event.ticket_id:
                progress = TicketTally(tickets[event.ticket_id])
                if states is not None:
                    states[event.ticket_id] = progress
            progress.feed(tally, event, services, start <= event.at < end)
    return in_window


def event_of(row: Any) -> Event:
    """An Event from a row of (ticket_id, kind, at as text, service_id, agency_id, counter_id, user_id, data)."""
    data = row[7]
    return Event(
        row[0],
        row[1],
        _utc(row[2]),
        row[3],
        row[4],
        row[5],
        row[6],
        (json.loads(data) if isinstance(data, str) else data) if data is not None else {},
    )


def event_columns() -> list[Any]:
    """The columns `event_of` reads (`at` raw, `data` only for the kinds that use it)."""
    events_table = table_of(TicketEvent)
    return [
        events_table.c.ticket_id,
        events_table.c.kind,
        type_coerce(events_table.c.at, String),
        events_table.c.service_id,
        events_table.c.agency_id,
        events_table.c.counter_id,
        events_table.c.user_id,
        type_coerce(case((events_table.c.kind.in_(DATA_KINDS), events_table.c.data), else_=None), String),
    ]


def tally_sites(session: Session, site_ids: list[int], start: datetime, end: datetime) -> Tally:
    """The figures of the sites completed in [start, end); memoised for the session (one request)."""
    cache = session.info.setdefault("luot.tallies", {})
    key = (tuple(sorted(site_ids)), start, end)
    if key not in cache:
        tally = Tally()
        tally_window(session, site_ids, start, end, tally, service_infos(session, site_ids))
        cache[key] = tally
    return cache[key]
