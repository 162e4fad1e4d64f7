"""Near-turn and called messages, queued from the line projection (server/domain/line.py) after each refresh of a
site's figures (`LinePublisher`, off the request that changed the line, in every process that holds the line).

A watched ticket (server/models.py TicketWatch) gets:
- `near_turn` once, when the projection puts NEAR_AHEAD (3) or fewer people before it and a counter that can
  serve it is open — the same `ahead` the phone page shows (server/domain/outlook.py);
- `called` once, when it is at a counter (called or recalled) or among the site's latest calls (so a citizen
  called and finished within one refresh is still told). A ticket called before its near-turn message was queued
  gets only the called one.

Once every message a watch wanted is queued, its address is kept only masked. Dedupe keys f"{ticket_id}:near" and
f"{ticket_id}:called": recalls, repeated refreshes and two processes queue each at most once. The watches of a site
are kept in memory and read again every RELOAD_SECONDS (a watch added in another process is seen within that time)
or when this process adds one (`watch_added`).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from server.db import Database
from server.domain.errors import DomainError
from server.domain.line import SiteLine
from server.domain.outlook import ticket_outlook
from server.messaging.addresses import masked
from server.messaging.outbox import enqueue
from server.messaging.texts import MessageKind
from server.models import Service, Ticket, TicketWatch

log = logging.getLogger(__name__)

NEAR_AHEAD = 3
RELOAD_SECONDS = 5.0


@dataclass
class Watch:
    ticket_id: int
    near: bool  # still to queue
    called: bool  # still to queue


_NO_WATCH = Watch(0, False, False)


@dataclass(frozen=True)
class Due:
    watch: Watch
    kind: MessageKind
    display_number: str
    service_id: int
    ahead: int = 0
    counter: str = ""
    send: bool = True  # False: only mark it done (called before the near-turn message, called not wanted)


def called_tickets(line: SiteLine) -> dict[int, Due]:
    """Tickets at a counter or called lately (ticket id → a CALLED Due without its watch), from the line."""
    found: dict[int, Due] = {}
    for call in reversed(line.recent_calls):  # oldest first: the latest call of a ticket wins
        counter = line.counters.get(call.counter_id)
        number = str(counter.number) if counter is not None else ""
        found[call.ticket_id] = Due(_NO_WATCH, MessageKind.CALLED, call.display_number, call.service_id, counter=number)
    for view in line.at_counter.values():
        found[view.id] = Due(
            _NO_WATCH, MessageKind.CALLED, view.display_number, view.service_id, counter=str(view.counter_number or "")
        )
    return found


class MessageTriggers:
    """`check(site_id, line, now)` is a LinePublisher watcher; `watch_added(site_id)` after a watch is saved here."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._watches: dict[int, dict[int, Watch]] = {}
        self._loaded_at: dict[int, float] = {}

    def watch_added(self, site_id: int) -> None:
        with self._lock:
            self._loaded_at.pop(site_id, None)

    def check(self, site_id: int, line: SiteLine, now: datetime) -> int:
        """Queues the messages now due for the site's watched tickets; returns how many were queued."""
        watches = self._pending(site_id, line)
        if not watches:
            return 0
        called = called_tickets(line)
        due: list[Due] = []
        for watch in watches:
            found = self._due(watch, line, called, now)
            if found is not None:
                due.append(found)
        return self._queue(site_id, due, now) if due else 0

    def _due(self, watch: Watch, line: SiteLine, called: dict[int, Due], now: datetime) -> Due | None:
        call = called.get(watch.ticket_id)
        if call is not None:
            return replace(call, watch=watch, send=watch.called)
        if not watch.near or watch.ticket_id not in line.waiting:
            return None
        outlook = ticket_outlook(line, watch.ticket_id, now)
        if outlook is None or outlook.no_counter_open or outlook.ahead > NEAR_AHEAD:
            return None
        view = line.waiting[watch.ticket_id]
        return Due(watch, MessageKind.NEAR_TURN, view.display_number, view.service_id, ahead=outlook.ahead)

    def _pending(self, site_id: int, line: SiteLine) -> list[Watch]:
        with self._lock:
            fresh = time.monotonic() - self._loaded_at.get(site_id, -RELOAD_SECONDS) < RELOAD_SECONDS
            if fresh:
                return [w for w in self._watches.get(site_id, {}).values() if w.near or w.called]
        with self.db.read() as session:
            rows = session.exec(
                select(TicketWatch)
                .join(Ticket, col(Ticket.id) == TicketWatch.ticket_id)
                .where(
                    TicketWatch.site_id == site_id,
                    Ticket.service_date == line.day,
                    sa.or_(
                        sa.and_(col(TicketWatch.near_turn), ~col(TicketWatch.near_queued)),
                        sa.and_(col(TicketWatch.called), ~col(TicketWatch.called_queued)),
                    ),
                )
            ).all()
        watches = {
            r.ticket_id: Watch(r.ticket_id, r.near_turn and not r.near_queued, r.called and not r.called_queued)
            for r in rows
        }
        with self._lock:
            self._watches[site_id] = watches
            self._loaded_at[site_id] = time.monotonic()
        return list(watches.values())

    def _queue(self, site_id: int, due: list[Due], now: datetime) -> int:
        """One write transaction: the messages and the watches' flags (a failure leaves both for the next try)."""
        queued = 0
        with self.db.write() as session:
            names = _service_names(session, {d.service_id for d in due})
            for item in due:
                row = session.exec(select(TicketWatch).where(TicketWatch.ticket_id == item.watch.ticket_id)).first()
                if row is None:
                    continue
                if item.send:
                    queued += self._enqueue(session, site_id, row, item, names, now)
                if item.kind == MessageKind.CALLED:
                    row.called_queued = True
                row.near_queued = True  # once called, near is moot
                if not (row.called and not row.called_queued):  # nothing more to send: keep the number masked only
                    row.address = masked(row.address)
                session.add(row)
            session.commit()
        with self._lock:
            for item in due:
                item.watch.near = False
                if item.kind == MessageKind.CALLED:
                    item.watch.called = False
        return queued

    def _enqueue(
        self,
        session: Session,
        site_id: int,
        row: TicketWatch,
        item: Due,
        names: dict[int, tuple[str, str]],
        now: datetime,
    ) -> int:
        ticket_id = item.watch.ticket_id
        if item.kind == MessageKind.CALLED:
            params = {"display_number": item.display_number, "counter": item.counter}
        else:
            name = names.get(item.service_id, ("", ""))
            service = name[1] if row.language == "en" and name[1] else name[0]
            params = {"display_number": item.display_number, "ahead": str(item.ahead), "service": service}
        key = f"{ticket_id}:{'called' if item.kind == MessageKind.CALLED else 'near'}"
        try:
            return int(
                enqueue(
                    session,
                    site_id=site_id,
                    kind=item.kind,
                    address=row.address,
                    params=params,
                    dedupe_key=key,
                    language=row.language,
                    ticket_id=ticket_id,
                    now=now,
                )
            )
        except (DomainError, ValueError) as exc:  # the site's channels changed since the watch: told once in the log
            log.warning("message %s not queued: %s", key, exc)
            return 0


def _service_names(session: Session, ids: set[int]) -> dict[int, tuple[str, str]]:
    rows = session.exec(select(Service).where(col(Service.id).in_(ids))).all() if ids else []
    return {s.id or 0: (s.name, s.name_en) for s in rows}
