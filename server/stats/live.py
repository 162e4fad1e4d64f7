"""Today's figures per site, kept in memory: what `/dashboard/api/live` and the province table answer.

A site's figures are built once from the event log (today's window, as history reads it: the same
`TicketTally` rules of server.stats.compute) and then fed every event committed after the last one they saw,
in log order: one read asks the log only for `ticketevent.id > last seen` (the primary key; no query over the
day's tickets) and answers a constant-size table (one row per service and agency, and the site's total). The
events of every process reach the same log, so several processes (one SQLite file, or PostgreSQL) agree
without a message bus; on PostgreSQL, where a transaction may commit after one with a higher id, each read also
looks back `LOOKBACK_IDS` ids and skips the events it already fed.

A site is built again when its local day changes (yesterday's figures are history, read from the roll-ups),
when its catalogue changes in this process (targets: `catalogue_changed`, hooked to
`Database.catalogue_watchers`) and when `mark_stale` is called. There is no periodic rebuild: reading by id
misses nothing on SQLite, and a build costs the whole day's log (2.7 s at 30,000 finished tickets on the
bench machine), which must not recur while the server serves.

Definitions are those of server.stats.compute; the p90 is the one of server.stats.waits (nearest rank over exact
wait seconds), so a finished day shows here the figures its roll-up shows in history.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from server.clock import Clock, local_date, local_midnight
from server.db import Database
from server.domain.vocabulary import EventKind
from server.models import Agency, Service, Ticket, TicketEvent, table_of
from server.stats.compute import (
    Key,
    ServiceInfo,
    Tally,
    TicketInfo,
    TicketTally,
    event_columns,
    event_of,
    service_infos,
    tally_window,
)
from server.stats.rows import combine, empty_row, figures
from server.stats.waits import SortedWaits

#: The figures the live answer carries (server.stats.queries.figures), in this order.
LIVE_FIELDS = (
    "issued",
    "called",
    "served",
    "avg_wait_min",
    "p90_wait_min",
    "max_wait_min",
    "within_target",
    "no_show",
    "no_show_rate",
    "cancelled",
    "avg_wait_last_call_min",
    "avg_service_min",
    "service_within_target",
    "recalled",
    "transferred_in",
    "transferred_out",
    "held",
    "ratings",
    "satisfaction",
    "rated_share",
)
LOOKBACK_IDS = 256  # PostgreSQL only: ids a later commit may still fill in below the highest one seen


class LiveTally(Tally):
    """Rows per service (key[4]); exact waits per service, agency (key[3]) and the site, kept sorted."""

    def __init__(self) -> None:
        super().__init__(project=lambda key: key[4])
        self.service_waits: dict[int, SortedWaits] = defaultdict(SortedWaits)
        self.agency_waits: dict[int, SortedWaits] = defaultdict(SortedWaits)
        self.site_waits = SortedWaits()

    def add_wait(self, key: Key, seconds: int) -> None:
        self.service_waits[key[4]].add(seconds)
        self.agency_waits[key[3]].add(seconds)
        self.site_waits.add(seconds)


@dataclass
class SiteFigures:
    """One site's figures of one local day, and what is needed to feed it the next events."""

    site_id: int
    day: date
    start: datetime  # local midnight of `day` (UTC-aware)
    services: dict[int, ServiceInfo]
    catalogue: list[dict[str, Any]]  # the site's services in display order (id, code, name, agency, target)
    agencies: list[dict[str, Any]]
    tally: LiveTally = field(default_factory=LiveTally)
    states: dict[int, TicketTally] = field(default_factory=dict)
    last_id: int = 0
    recent_ids: deque[int] = field(default_factory=lambda: deque(maxlen=4 * LOOKBACK_IDS))
    built_at: float = field(default_factory=time.monotonic)
    events_fed: int = 0
    answered: tuple[int, dict[str, Any]] | None = None  # (events_fed, the figures then): computed once per change

    def row(self, service_ids: list[int]) -> list[int]:
        """Summed measures of some services (wait_max as MAX)."""

        total = empty_row()
        for service_id in service_ids:
            row = self.tally.rows.get(service_id)
            if row is not None:
                combine(total, row)
        return total


class LiveStats:
    """Today's figures of the sites this process was asked about. Thread- and greenlet-safe."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._sites: dict[int, SiteFigures] = {}
        self._stale: set[int] = set()
        self._locks: dict[int, threading.RLock] = defaultdict(threading.RLock)
        self.builds = 0
        self._lookback = 0 if db.engine.dialect.name == "sqlite" else LOOKBACK_IDS

    # ------------------------------------------------------------ reading

    def site(self, site_id: int, now: datetime | None = None) -> SiteFigures:
        """The site's figures for today, fed every event committed so far (call under no write lock)."""
        now = now or self.clock.now()
        with self._locks[site_id]:
            figures = self._sites.get(site_id)
            if figures is None or figures.day != local_date(now) or site_id in self._stale:
                self._stale.discard(site_id)
                figures = self._sites[site_id] = self._build(site_id, now)
            else:
                self._catch_up(figures)
            return figures

    def answer(self, site_id: int, now: datetime | None = None) -> dict[str, Any]:
        """The live dashboard's table: per service and agency and for the site, today's figures (the definitions
        of history: server.stats.queries.figures) as value lists in the order of `fields`. Names and targets are
        in the site's snapshot, which the page has already: the answer stays small (a few KiB, under the 16 KiB
        that costs a kept-alive connection a stall) and its size depends on the catalogue only. Computed once per
        change of the site's figures (O(services)), then reused by every read until the next event.

        Shape: {site_id, day, now, fields: [name…], total: [value…], agencies: {id: [value…]},
        services: {id: [value…]}}; `expand` turns the value lists into dicts."""

        def values(row: list[int], waits: Any) -> list[Any]:
            shown = figures(row, waits)
            return [shown[name] for name in LIVE_FIELDS]

        now = now or self.clock.now()
        with self._locks[site_id]:
            site = self.site(site_id, now)
            if site.answered is not None and site.answered[0] == site.events_fed:
                return {**site.answered[1], "now": now.isoformat()}
            tally = site.tally
            services = {
                entry["id"]: values(site.row([entry["id"]]), tally.service_waits.get(entry["id"]))
                for entry in site.catalogue
            }
            agencies = {}
            for agency in site.agencies:
                ids = [entry["id"] for entry in site.catalogue if entry["agency_id"] == agency["id"]]
                agencies[agency["id"]] = values(site.row(ids), tally.agency_waits.get(agency["id"]))
            answer = {
                "site_id": site_id,
                "day": site.day.isoformat(),
                "now": now.isoformat(),
                "fields": list(LIVE_FIELDS),
                "total": values(site.row(list(tally.rows)), tally.site_waits),
                "agencies": agencies,
                "services": services,
            }
            site.answered = (site.events_fed, answer)
            return answer

    # ------------------------------------------------------------ changing

    def mark_stale(self, site_id: int | None = None) -> None:
        """Build the site (every site: None) again at its next read."""
        self._stale.update(list(self._sites) if site_id is None else [site_id])

    def catalogue_changed(self, sites: set[int | None]) -> None:
        """A `Database.catalogue_watchers` hook: targets or services changed outside the use cases."""
        if None in sites:
            self.mark_stale(None)
        for site_id in sites:
            if site_id is not None:
                self.mark_stale(site_id)

    # ------------------------------------------------------------ building and feeding

    def _build(self, site_id: int, now: datetime) -> SiteFigures:
        """Today's figures from the log, up to the highest event id committed when the build began."""
        self.builds += 1
        day = local_date(now)
        start, end = local_midnight(day), local_midnight(day + timedelta(days=1))
        with self.db.read() as session:
            if self._lookback:  # PostgreSQL: every statement of the build sees one snapshot
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            last_id = session.execute(select(func.max(TicketEvent.id))).scalar() or 0
            services = service_infos(session, [site_id])
            rows = session.exec(select(Service).where(Service.site_id == site_id).order_by(col(Service.sort_order)))
            catalogue = [
                {
                    "id": s.id,
                    "code": s.code,
                    "name": s.name,
                    "agency_id": s.agency_id,
                    "target_wait_minutes": s.target_wait_minutes,
                }
                for s in rows
            ]
            agencies = [
                {"id": a.id, "code": a.code, "name": a.name}
                for a in session.exec(select(Agency).where(Agency.site_id == site_id).order_by(col(Agency.sort_order)))
            ]
            figures = SiteFigures(site_id, day, start, services, catalogue, agencies, last_id=last_id)
            tally_window(session, site_id, start, end, figures.tally, services, figures.states, last_id)
            if self._lookback:  # what the build counted among the ids the next reads look back over
                events = table_of(TicketEvent)
                figures.recent_ids.extend(
                    session.connection()
                    .execute(
                        select(events.c.id)
                        .where(
                            events.c.id > last_id - self._lookback,
                            events.c.id <= last_id,
                            events.c.site_id == site_id,
                        )
                        .order_by(events.c.id)
                    )
                    .scalars()
                )
        return figures

    def _catch_up(self, figures: SiteFigures) -> None:
        """Feeds the site's events committed since the last one it saw: the highest id now, then the primary-key
        range up to it (both O(log n) plus the new events; the ids of other sites' events are passed over too,
        so an idle site never rescans a busy one's)."""
        events, tickets = table_of(TicketEvent), table_of(Ticket)
        since = max(0, figures.last_id - self._lookback)
        with self.db.read() as session:
            top = session.execute(select(func.max(events.c.id))).scalar() or 0
            rows = (
                session.connection()
                .execute(
                    select(events.c.id, tickets.c.priority, tickets.c.channel, *event_columns())
                    .join(tickets, tickets.c.id == events.c.ticket_id)
                    # `+ 0`: the primary key range, not the (site, at) index that would scan the site's whole log
                    .where(events.c.id > since, events.c.id <= top, events.c.site_id + 0 == figures.site_id)
                    .order_by(events.c.id)
                )
                .fetchall()
            )
            recent = set(figures.recent_ids) if self._lookback else set()
            for row in rows:
                event_id = row[0]
                if event_id <= figures.last_id and (not self._lookback or event_id in recent):
                    continue
                event = event_of(row[3:])
                progress = figures.states.get(event.ticket_id)
                if progress is None and event.kind == EventKind.ISSUED:  # a ticket's first event: nothing before
                    info = TicketInfo(event.ticket_id, figures.site_id, row[1] or "", row[2] or "")
                    progress = figures.states[event.ticket_id] = TicketTally(info)
                elif progress is None:
                    progress = self._ticket_before(session, figures, event_id, event.ticket_id, row[1], row[2])
                progress.feed(figures.tally, event, figures.services, event.at >= figures.start)
                figures.events_fed += 1
                figures.recent_ids.append(event_id)
                if self._lookback:
                    recent.add(event_id)
            figures.last_id = max(figures.last_id, top)

    def _ticket_before(
        self, session: Any, figures: SiteFigures, event_id: int, ticket_id: int, priority: Any, channel: Any
    ) -> TicketTally:
        """A ticket first seen now (issued today after the build, or an earlier day's ticket finishing today):
        its progress from its events before this one (none for a ticket just issued)."""
        progress = TicketTally(TicketInfo(ticket_id, figures.site_id, priority or "", channel or ""))
        earlier = session.connection().execute(
            select(*event_columns())
            .where(table_of(TicketEvent).c.ticket_id == ticket_id, table_of(TicketEvent).c.id < event_id)
            .order_by(table_of(TicketEvent).c.at, table_of(TicketEvent).c.id)
        )
        for row in earlier:
            event = event_of(row)
            progress.feed(figures.tally, event, figures.services, figures.start <= event.at)
        figures.states[ticket_id] = progress
        return progress


def expand(answer: dict[str, Any]) -> dict[str, Any]:
    """The live answer (as sent, or read back from JSON) with its value lists as dicts by field name, and
    integer ids (tests, scripts)."""
    fields = answer["fields"]

    def named(values: list[Any]) -> dict[str, Any]:
        return dict(zip(fields, values, strict=True))

    return {
        **answer,
        "total": named(answer["total"]),
        "agencies": {int(k): named(v) for k, v in answer["agencies"].items()},
        "services": {int(k): named(v) for k, v in answer["services"].items()},
    }
