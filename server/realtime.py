"""The Socket.IO hub: authenticate on connect, join rooms, send one snapshot, publish events after commit.

Rooms: site:<id> (boards, kiosks, consoles, dashboards: the hall's events), counter:<id>, display:<id>,
ticket:<tracking token> and queues:<site> (phones: their own ticket and the queue figures only), managers:<site>.
Every event carries the site's sequence number `seq` and the
server `epoch`; a client that sees a gap asks for a fresh snapshot (`snapshot.request`).
"""

from __future__ import annotations

import gc
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from flask import current_app, request, session
from flask_socketio import ConnectionRefusedError, SocketIO, join_room
from socketio import PubSubManager
from sqlmodel import select

from server import direct_send
from server.after_answer import AfterAnswer
from server.auth import Principal, principal_for_token
from server.clock import Clock
from server.db import Database
from server.domain import events as ev
from server.domain.outlook import ticket_outlook
from server.domain.queries import ticket_view
from server.domain.vocabulary import MANAGER_ROLES
from server.event_order import LocalOrder, RedisOrder, SequencedRedisManager
from server.line_bus import LineBus
from server.line_publisher import LinePublisher, Listener
from server.line_store import LineStore
from server.models import Counter, Site, Ticket
from server.payloads import counter_dict, outlook_dict, public_ticket
from server.presence import DevicePresence
from server.snapshots import site_snapshot
from server.socket_limits import ConnectionCaps, InboundLimiter, SnapshotGate
from server.socket_request import current_sid

log = logging.getLogger(__name__)

URGENT = (ev.TicketCalled, ev.TicketRecalled)  # published before the other events of their transaction


class Hub:
    """Maps domain events to rooms and payloads; answers connections with snapshots."""

    def __init__(
        self,
        socketio: SocketIO,
        db: Database,
        clock: Clock,
        message_queue: str = "",
        announce: Callable[[ev.QueueEvent], dict[str, Any]] | None = None,
        lines: LineStore | None = None,
        *,
        snapshot_interval: float = 1.0,
        phones_per_token: int = 5,
        phones_per_address: int = 50,
        allowed_origins: tuple[str, ...] = (),
    ) -> None:
        self.socketio = socketio
        self.db = db
        self.clock = clock
        manager = socketio.server.manager
        self.order: LocalOrder | RedisOrder = (
            RedisOrder(manager) if isinstance(manager, SequencedRedisManager) else LocalOrder(socketio)
        )
        self.announce = announce or (lambda event: {})
        self.lines = lines or LineStore(db, clock)
        self.figures = LinePublisher(socketio, self.lines, clock, self._emit)
        self.lines.on_change = self.figures.changed
        self.snapshots = SnapshotGate(snapshot_interval, socketio.start_background_task, socketio.sleep)
        self.caps = ConnectionCaps(phones_per_token, phones_per_address)
        # After the answer only without a message queue (one process): its queue is the site's one order, so a call
        # answered before another was asked is numbered and announced first. Processes sharing a queue number at
        # send time, each from its own queue: a deferred call could be overtaken by one asked after it was answered
        # on the other process (the two-process fault drill saw a board announce them so): they send, then answer.
        alone = not isinstance(manager, PubSubManager)
        deferred = socketio.async_mode != "threading" and alone
        self.outgoing = AfterAnswer(self.send, socketio.start_background_task, deferred)
        self.lines.defer = deferred  # the lines learn a commit after its answer too, before it is sent (`send`)
        self.inbound = InboundLimiter()
        self.inbound.install(socketio.server.eio, socketio.sleep)
        self.allowed_origins = frozenset(o.strip().rstrip("/").lower() for o in allowed_origins if o.strip())
        self._site_payloads: dict[int, tuple[Any, ...]] = {}  # site → ((seq, second), line, catalogue, payload)
        self.bus = LineBus(message_queue, self._heard, socketio.sleep) if message_queue.startswith("redis") else None
        #: Devices connected to this process (the live dashboard's device health).
        self.presence = DevicePresence(
            clock, lambda site_id, payload: socketio.emit("device.status", payload, to=f"managers:{site_id}")
        )
        socketio.on_event("connect", self._on_connect)
        socketio.on_event("disconnect", self._on_disconnect)
        socketio.on_event("snapshot.request", self._on_snapshot_request)
        if direct_send.install(socketio.server.eio):
            _spare_the_collector()

    def ready(self) -> None:
        """Before a write: with a message queue, Redis must answer, or the action is refused (503)."""
        from redis.exceptions import RedisError

        from server.runner import StorageUnavailable

        try:
            self.order.ping()
        except RedisError as exc:
            log.error("message queue unreachable: %s", exc)
            raise StorageUnavailable() from exc

    # ------------------------------------------------------------ connections

    def _principal(self, auth: dict[str, Any] | None) -> tuple[Principal | None, str | None]:
        auth = auth or {}
        now = self.clock.now()
        with self.db.read() as db_session:
            if auth.get("tracking_token"):
                ticket = db_session.exec(
                    select(Ticket).where(Ticket.tracking_token == str(auth["tracking_token"]))
                ).first()
                if ticket is None:
                    return None, None
                return Principal("tracking", ticket.id or 0, ticket.site_id), ticket.tracking_token
            token = auth.get("token") or _bearer(request.headers.get("Authorization", ""))
            if token:
                return principal_for_token(db_session, now, str(token)), None
            user_id = session.get("user_id")
            if user_id:
                if not self._origin_allowed(request.headers.get("Origin")):
                    log.warning("cookie socket refused from origin %r", request.headers.get("Origin"))
                    return None, None
                from server.sessions import session_principal

                return session_principal(current_app.extensions["luot"]), None
        return None, None

    def _origin_allowed(self, origin: str | None) -> bool:
        """A cookie-signed-in socket must come from this server's pages or an allowed origin (a page elsewhere
        would otherwise ride the staff member's cookie). No Origin at all: not a browser page."""
        if origin is None:
            return True
        origin = origin.rstrip("/").lower()
        return origin == f"{request.scheme}://{request.host}".lower() or origin in self.allowed_origins

    def _on_connect(self, auth: dict[str, Any] | None = None) -> bool:
        """Accepts (True) or rejects (False) a client; refuses it with CONNECT_ERROR `storage_unavailable` when the
        database or the message queue does not answer, so that the client tries again (live.js retries)."""
        from redis.exceptions import RedisError
        from sqlalchemy.exc import DBAPIError
        from sqlalchemy.exc import TimeoutError as PoolTimeout

        from server.runner import StorageUnavailable

        try:
            return self._connect(auth)
        except (DBAPIError, PoolTimeout, RedisError, StorageUnavailable, OSError) as exc:
            log.warning("refused a connection: storage unavailable (%s)", exc.__class__.__name__)
            raise ConnectionRefusedError("storage_unavailable") from exc

    def _connect(self, auth: dict[str, Any] | None) -> bool:
        principal, tracking = self._principal(auth)
        if principal is None:
            return False
        site_id = self._site_for(principal, auth or {})
        if site_id is None:
            return False
        if not self.caps.admit(current_sid(), address=request.remote_addr or "", tracking=tracking):
            log.warning("socket refused: too many phone connections (%s)", request.remote_addr)
            return False
        # A phone sees only its own ticket and the queue figures, never the rest of the hall's events.
        rooms = [f"ticket:{tracking}", f"queues:{site_id}"] if tracking else [f"site:{site_id}"]
        if principal.kind == "device":
            rooms.append(f"display:{principal.id}")
            if principal.settings.get("counter_id"):
                rooms.append(f"counter:{principal.settings['counter_id']}")
        listener = Listener(site_id, ticket_id=principal.id) if tracking else None
        if principal.is_staff:
            if principal.role in MANAGER_ROLES:
                rooms.append(f"managers:{site_id}")
            with self.db.read() as db_session:
                counter = db_session.exec(select(Counter).where(Counter.clerk_id == principal.id)).first()
            if counter is not None:
                rooms.append(f"counter:{counter.id}")
                listener = Listener(site_id, counter_id=counter.id)
        self.outgoing.flush()  # what was committed before it joins goes out before: a phone (unsequenced) would
        for room in rooms:  # otherwise replay a call after a snapshot that already shows the ticket finished
            join_room(room)
        self.snapshots.started(current_sid())
        self._send_snapshot(site_id, tracking, current_sid())
        if principal.kind == "device":
            self.presence.connected(current_sid(), principal.id, site_id)
        if listener is not None:
            self.figures.listen(current_sid(), listener)
            self.figures.changed(site_id, set(), local=False)  # its own figures follow the snapshot
        return True

    def _on_disconnect(self, *_: Any) -> None:
        self.figures.forget(current_sid())
        self.snapshots.forget(current_sid())
        self.caps.release(current_sid())
        self.presence.disconnected(current_sid())

    def _site_for(self, principal: Principal, auth: dict[str, Any]) -> int | None:
        """The site the socket follows; None (refused) for another site, a malformed or an unknown one."""
        wanted = auth.get("site_id")
        if principal.site_id is not None:
            return principal.site_id if wanted in (None, principal.site_id) else None
        if wanted is None or isinstance(wanted, bool):
            return None
        try:
            site_id = int(wanted)  # province-level staff pick a site
        except (TypeError, ValueError):
            return None
        if not 0 < site_id < 2**63:
            return None
        with self.db.read() as db_session:
            return site_id if db_session.get(Site, site_id) is not None else None

    def _on_snapshot_request(self, data: dict[str, Any] | None = None) -> None:
        """At most one snapshot in flight and one a second per socket; requests in between are folded."""
        sid = current_sid()
        joined = self.socketio.server.rooms(sid, namespace="/")
        sites = [int(r.split(":", 1)[1]) for r in joined if r.startswith(("site:", "queues:"))]
        tracking = next((r[7:] for r in joined if r.startswith("ticket:")), None)
        if sites:
            site_id = sites[0]
            self.snapshots.request(sid, lambda to: self._send_snapshot(site_id, tracking, to))

    def _site_payload(self, site_id: int, seq: int, epoch: str, fresh_after: float | None) -> dict[str, Any]:
        """The site part of a snapshot, built once per site, event number, line, catalogue and clock second:
        a flood of (re)connecting clients shares one build. `fresh_after`: see `_send_snapshot`."""
        now = self.clock.now()
        line = self.lines.site(site_id, now, fresh_after=fresh_after)
        catalogue = self.lines.catalogue(site_id)
        key = (epoch, seq, now.replace(microsecond=0))
        cached = self._site_payloads.get(site_id)
        if cached is not None and cached[0] == key and cached[1] is line and cached[2] is catalogue:
            return dict(cached[3])
        payload = site_snapshot(line, catalogue, now)
        self._site_payloads[site_id] = (key, line, catalogue, payload)
        return dict(payload)

    def _send_snapshot(self, site_id: int, tracking: str | None, sid: str) -> None:
        self.outgoing.flush()  # the events of what the line already holds are numbered before the position is read
        seq, epoch = self.order.position(site_id)
        # Several processes: the events numbered up to `seq` were committed before it was read; a line read from
        # the database after this moment holds them all (this process hears of the others' changes later).
        fresh_after = time.monotonic() if self.bus is not None else None
        payload = self._site_payload(site_id, seq, epoch, fresh_after)
        if tracking:
            now = self.clock.now()
            line = self.lines.site(site_id, now)
            with self.db.read() as db_session:
                ticket = db_session.exec(select(Ticket).where(Ticket.tracking_token == tracking)).first()
                view = ticket_view(db_session, ticket) if ticket else None
            payload["ticket"] = public_ticket(view) if view else None
            payload["progress"] = outlook_dict(ticket_outlook(line, view.id, now) if view else None)
        # Phones receive a subset of the site's events, so they cannot check the sequence for gaps.
        payload.update(seq=seq, epoch=epoch, sequenced=tracking is None)
        self.socketio.emit("snapshot", payload, to=sid)

    # ------------------------------------------------------------ publishing

    def publish(self, events: list[ev.QueueEvent]) -> None:
        """Hands one committed transaction's events to `send`, after the request's answer under eventlet/gevent
        (`server.after_answer`), in commit order."""
        self.outgoing(events)

    def send(self, events: list[ev.QueueEvent]) -> None:
        """Emit the events of one committed transaction, calls first.

        A call is what the boards wait for: it leaves on its own, before the finish of the citizen served
        before (same transaction); the rest follows in one write per client (`direct_send.corked`). Sequence
        numbers follow the emission order. The figures of the lines they changed follow from the line store
        (`LinePublisher`), off the request.
        """
        self.lines.drain()  # deferred with the events (`LineStore.defer`): the figures below read the lines
        self._emit_events([event for event in events if isinstance(event, URGENT)])
        with direct_send.corked():
            self._emit_events([event for event in events if not isinstance(event, URGENT)])
        changed: dict[int, set[int]] = defaultdict(set)
        for event in events:
            changed[event.site_id] |= event.service_ids
        for site_id, services in changed.items():
            self.figures.changed(site_id, services)
        if self.bus is not None:
            self.bus.changed(changed)

    def _heard(self, site_id: int) -> None:
        """Another process changed a site's line: build it again here."""
        self.lines.mark_stale(site_id, local=False)

    def start_background(self) -> None:
        """`luot serve`: hear the other processes' line changes (scale-out mode)."""
        if self.bus is not None:
            self.socketio.start_background_task(self.bus.listen_forever)

    def _emit_events(self, events: list[ev.QueueEvent]) -> None:
        for event in events:
            for name, payload, rooms in self._messages(event):
                self._emit(event.site_id, name, payload, rooms)

    def _emit(self, site_id: int, name: str, payload: dict[str, Any], rooms: list[str]) -> None:
        """Numbers the event in its site and sends it, in one step (`server.event_order`); a `direct` payload is for
        one audience only (managers), outside the site's sequence."""
        if payload.get("direct"):
            self.socketio.emit(name, payload, to=rooms)
        else:
            self.order.emit(site_id, name, payload, rooms)

    def _messages(self, event: ev.QueueEvent) -> list[tuple[str, dict[str, Any], list[str]]]:
        site_room = f"site:{event.site_id}"
        if isinstance(event, ev.CounterChanged) and event.counter is not None:
            counter = event.counter
            payload = {"counter": counter_dict(counter)}
            return [("counter.changed", payload, [site_room, f"counter:{counter.id}"])]
        ticket = event.ticket
        if ticket is None:
            return []
        rooms = [site_room, f"ticket:{ticket.tracking_token}"]
        if ticket.counter_id:
            rooms.append(f"counter:{ticket.counter_id}")
        base = {"kind": event.kind, "at": event.at.isoformat(), "ticket": public_ticket(ticket)}
        if isinstance(event, ev.TicketIssued):
            return [("ticket.issued", base, [site_room])]
        if isinstance(event, ev.TicketCalled | ev.TicketRecalled):
            call = {
                **base,
                "call_id": event.call_id,
                "display_number": ticket.display_number,
                "agency_id": ticket.agency_id,
                "service_id": ticket.service_id,
                "counter": {"id": ticket.counter_id, "number": ticket.counter_number},
                **self.announce(event),
            }
            name = "ticket.called" if isinstance(event, ev.TicketCalled) else "ticket.recalled"
            return [(name, call, rooms)]
        if isinstance(event, ev.TicketRated):
            base["score"] = event.score
            rooms.append(f"managers:{event.site_id}")
            if event.feedback is not None:  # reasons and comment: managers only, never the hall or phones
                feedback = {**event.feedback, "direct": True}
                return [("ticket.updated", base, rooms), ("rating.negative", feedback, [f"managers:{event.site_id}"])]
        return [("ticket.updated", base, rooms)]


def _spare_the_collector() -> None:
    """An eventlet process holds thousands of connections (~150 tracked objects each): rare, short full collections.

    Measured with 2,000 boards (issue 7): a full collection walked ~460,000 objects for ~350 ms, stalling every
    board that long, every few dozen calls. What exists now (modules, the app) lives as long as the process: frozen,
    no collection walks it again (~150,000 objects). A young generation of 10,000 instead of 700 lets the hub's
    short-lived timers die before they are promoted, which is what kept triggering the full collections.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, *gc.get_threshold()[1:])


def _bearer(header: str) -> str | None:
    return header[7:].strip() if header.lower().startswith("bearer ") else None
