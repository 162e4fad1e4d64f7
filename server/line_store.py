"""Each site's line in memory (`server.domain.line.SiteLine`): built from the database once, then patched by every
committed event, so issue, call next, a phone's status, a board's snapshot and the dashboard read it without a
query.

- `Runner` hands a use case's events over right after its commit, while it still holds the write lock (SQLite).
  Under eventlet or gevent in one process (`defer`) they are applied after the request's answer, by the hub's
  sender before it sends them (issue 13: the clerk's answer does not wait for the line's update), and in any
  case before anything reads the line: every read (`site`, `catalogue`) applies what is pending first, in commit
  order, so the next writer always sees them. Elsewhere they are applied at once.
- A site is built again from the database when its local day changes (yesterday's open tickets are gone for
  every reader at 00:00), when its catalogue changes (a service, counter or rule saved in this process outside
  the use cases: `catalogue_changed`, hooked to `Database.catalogue_watchers`), when another process says it
  changed the site (`mark_stale`, through Redis in scale-out mode), and as a safety net every
  `REBUILD_EVERY_SECONDS`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from server.clock import Clock, local_date, local_midnight
from server.db import Database
from server.domain import events as ev
from server.domain.line import RECENT_SERVICES, Call, ServiceInfo, SiteLine
from server.domain.queries import (
    counter_view,
    last_called_numbers,
    recent_minutes_by_service,
    site_rules,
    ticket_view,
)
from server.domain.rules import SiteRules
from server.domain.vocabulary import AT_COUNTER, CALL_KINDS, OPEN_STATUSES, TicketStatus
from server.models import Agency, Counter, CounterService, Service, Site, Ticket, TicketEvent
from server.payloads import agency_dict, service_dict, site_dict

log = logging.getLogger(__name__)

REBUILD_EVERY_SECONDS = 15 * 60


@dataclass(frozen=True)
class SiteCatalogue:
    """A site's agencies and services as the snapshots show them (kept with the line; rebuilt with it)."""

    site: dict[str, Any]
    agencies: list[dict[str, Any]]
    services: list[Service]
    rules: SiteRules | None = None

    def services_at(self, now: datetime) -> list[dict[str, Any]]:
        return [service_dict(service, now, self.rules) for service in self.services]


class UnknownSite(LookupError):
    """No site with this id."""


class LineStore:
    """The lines of the sites this process serves. Thread- and greenlet-safe."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        on_change: Callable[[int, set[int], bool], None] | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        #: (site, services, local): a line was built again because of this process (catalogue edit, a new day) or
        #: of another process (`local` False).
        self.on_change = on_change or (lambda site_id, services, local: None)
        #: True: events handed over are applied later (`drain`: the hub's sender after the answer, or the next
        #: read); False applies them at once (threading, several processes on a message queue).
        self.defer = False
        self._pending: deque[list[ev.QueueEvent]] = deque()
        self._lines: dict[int, SiteLine] = {}
        self._built_at: dict[int, float] = {}
        self._stale: set[int] = set()
        #: Sites whose line is being built again: readers wait for it rather than take the line it replaces.
        self._building: set[int] = set()
        self._locks: dict[int, threading.RLock] = defaultdict(threading.RLock)
        self._counter_sites: dict[int, int] = {}
        self._catalogues: dict[int, SiteCatalogue] = {}
        self.builds = 0

    # ------------------------------------------------------------ reading

    def site(self, site_id: int, now: datetime | None = None, fresh_after: float | None = None) -> SiteLine:
        """The site's line for today (built from the database when missing, stale or of another day).

        `fresh_after` (a time.monotonic()): the line must have been read from the database after that moment — a
        snapshot in scale-out mode, so that it holds every other process's commit numbered before it (their lines
        reach this process only through Redis, later). Concurrent callers share one rebuild. Events handed over
        and not yet applied (`defer`) are applied first."""
        if self._pending:
            self.drain()
        now = now or self.clock.now()
        if self._usable(site_id, now, fresh_after):
            return self._lines[site_id]
        with self._locks[site_id]:
            if not self._usable(site_id, now, fresh_after):
                self._stale.discard(site_id)  # before: a change during the build marks it again
                self._building.add(site_id)  # readers wait for the new line, not read the old one meanwhile
                try:
                    started = time.monotonic()
                    line = self._build(site_id, now)
                    self._lines[site_id] = line
                    self._built_at[site_id] = started
                finally:
                    self._building.discard(site_id)
            return self._lines[site_id]

    def _usable(self, site_id: int, now: datetime, fresh_after: float | None) -> bool:
        line = self._lines.get(site_id)
        built = self._built_at.get(site_id, 0)
        return (
            line is not None
            and line.day == local_date(now)
            and site_id not in self._stale
            and site_id not in self._building
            and time.monotonic() - built < REBUILD_EVERY_SECONDS
            and (fresh_after is None or built >= fresh_after)
        )

    def catalogue(self, site_id: int) -> SiteCatalogue:
        """The site's agencies and services (read with the line)."""
        self.site(site_id)  # (applies what is pending first)
        return self._catalogues[site_id]

    def site_of_counter(self, counter_id: int) -> int | None:
        if counter_id not in self._counter_sites:
            with self.db.read() as session:
                counter = session.get(Counter, counter_id)
            if counter is None:
                return None
            self._counter_sites[counter_id] = counter.site_id
        return self._counter_sites[counter_id]

    # ------------------------------------------------------------ changing

    def apply(self, events: Iterable[ev.QueueEvent]) -> None:
        """Patches the lines with one committed transaction's events (call it before releasing the write lock;
        the events' publisher tells the clients after). With `defer`, queued and applied by `drain`: after the
        answer or at the next read, whichever comes first."""
        if self.defer:
            self._pending.append(list(events))
        else:
            self._apply_now(list(events))

    def drain(self) -> None:
        """Applies the events handed over and not yet applied, in commit order. An event the line cannot take
        (a bug) marks the lines to be built again from the database, which holds it; it is logged, not raised."""
        while self._pending:
            events = self._pending.popleft()
            try:
                self._apply_now(events)
            except Exception:  # the commit stands; the lines are built again from the database
                log.exception("the lines could not apply a commit's events; rebuilding them")
                self.mark_stale(None)

    def _apply_now(self, events: list[ev.QueueEvent]) -> None:
        by_site: dict[int, list[ev.QueueEvent]] = defaultdict(list)
        for event in events:
            by_site[event.site_id].append(event)
        for site_id, site_events in by_site.items():
            with self._locks[site_id]:
                line = self._lines.get(site_id)
                if line is not None:  # else built when first read, from the database that holds these events
                    line.apply(site_events)

    def mark_stale(self, site_id: int | None = None, local: bool = True) -> None:
        """The site changed outside this process's use cases (a catalogue edit, a new day, another process when
        `local` is False): build it again at the next read, and let its clients know."""
        sites = list(self._lines) if site_id is None else [site_id]
        self._stale.update(sites)
        if site_id is None:
            self._counter_sites.clear()
        for site in sites:
            self.on_change(site, set(), local)

    def catalogue_changed(self, sites: set[int | None]) -> None:
        """A `Database.catalogue_watchers` hook: a site, service or counter was saved outside the use cases."""
        if None in sites:
            self.mark_stale(None)
        else:
            for site_id in sites:
                if site_id is not None:
                    self.mark_stale(site_id)

    # ------------------------------------------------------------ building

    def _build(self, site_id: int, now: datetime) -> SiteLine:
        """The line as the database holds it now: today's open tickets, counters, services and recent figures."""
        self.builds += 1
        today = local_date(now)
        with self.db.read() as session:
            rules = site_rules(session, site_id)
            site = session.get(Site, site_id)
            if site is None:
                raise UnknownSite(site_id)
            agencies = session.exec(select(Agency).where(Agency.site_id == site_id).order_by(col(Agency.sort_order)))
            ordered = session.exec(select(Service).where(Service.site_id == site_id).order_by(col(Service.sort_order)))
            rows = list(ordered)
            self._catalogues[site_id] = SiteCatalogue(site_dict(site), [agency_dict(a) for a in agencies], rows, rules)
            services = {
                s.id or 0: ServiceInfo(
                    s.id or 0, s.agency_id, s.default_service_minutes, rules.hours_of(s.opening_hours), s.active
                )
                for s in rows
            }
            counters = session.exec(select(Counter).where(Counter.site_id == site_id)).all()
            weights: dict[int, dict[int, int]] = defaultdict(dict)
            for row in session.exec(
                select(CounterService)
                .join(Counter, col(Counter.id) == CounterService.counter_id)
                .where(Counter.site_id == site_id)
            ):
                weights[row.counter_id][row.service_id] = row.weight
            views = {c.id or 0: counter_view(session, c, weights.get(c.id or 0, {})) for c in counters}
            line = SiteLine(site_id=site_id, day=today, rules=rules, services=services, counters=views)
            for counter in counters:
                self._counter_sites[counter.id or 0] = site_id
            numbers = {c.id: c.number for c in counters}
            open_today = session.exec(
                select(Ticket).where(
                    Ticket.service_date == today,
                    Ticket.site_id == site_id,
                    col(Ticket.status).in_(OPEN_STATUSES),
                )
            ).all()
            current_ids = [c.current_ticket_id for c in counters if c.current_ticket_id]
            at_counters = (
                session.exec(select(Ticket).where(col(Ticket.id).in_(current_ids))).all() if current_ids else []
            )
            for ticket in open_today:
                view = ticket_view(session, ticket, numbers)
                if ticket.status == TicketStatus.WAITING:
                    line._wait(view)
                else:
                    line.held[view.id] = view
            for ticket in at_counters:
                if ticket.status in AT_COUNTER and ticket.counter_id is not None:
                    line.at_counter[ticket.counter_id] = ticket_view(session, ticket, numbers)
            recent = recent_minutes_by_service(session, list(services), now, RECENT_SERVICES)
            for service_id, minutes in recent.items():
                line.recent_minutes[service_id] = deque(minutes, maxlen=RECENT_SERVICES)
            line.last_called.update(last_called_numbers(session, site_id, now))
            line.issued.update(issued_today(session, site_id, today))
            line.recent_calls.extend(_recent_calls(session, site_id, now))
        return line


def issued_today(session: Session, site_id: int, day: date) -> dict[int, int]:
    """Tickets issued per service chosen, on a local day."""
    rows = session.exec(
        select(Ticket.origin_service_id, func.count())
        .where(Ticket.service_date == day, Ticket.site_id == site_id)
        .group_by(col(Ticket.origin_service_id))
    ).all()
    return {service_id: count for service_id, count in rows}


def _recent_calls(session: Session, site_id: int, now: datetime, limit: int = 12) -> list[Call]:
    """Today's latest calls and recalls, newest first."""
    rows = session.exec(
        select(TicketEvent, Ticket)
        .join(Ticket, col(Ticket.id) == TicketEvent.ticket_id)
        .where(
            TicketEvent.site_id == site_id,
            col(TicketEvent.kind).in_(CALL_KINDS),
            TicketEvent.at >= local_midnight(local_date(now)),
            col(TicketEvent.counter_id).is_not(None),
        )
        .order_by(col(TicketEvent.id).desc())
        .limit(limit)
    ).all()
    return [
        Call(f"c{e.id}", e.kind, e.at, t.display_number, t.id or 0, e.service_id, e.agency_id, e.counter_id or 0)
        for e, t in rows
    ]
