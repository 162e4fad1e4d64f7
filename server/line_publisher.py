"""After a site's line changed: its figures go out once, off the request that changed it.

- `queue.changed` to the hall (boards, kiosks, dashboards, phones of the site): the figures of the services
  whose line changed — counts, estimates, the number called last — never the whole order of any line; sent by
  the process whose commit changed the line, sequenced like every hall event.
- `ticket.progress` to each phone connected to this process whose ticket's figures changed (people ahead, wait,
  "no counter open"), and `counter.line` to each console connected here: its counter's order, as Call next would
  take it, with why. These go only to this process's own sockets (`ignore_queue`): every process holds the same
  line and tells its own clients.

Changes arriving while a refresh is pending are folded into it: a burst of calls costs one projection.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_socketio import SocketIO

from server.clock import Clock
from server.domain.outlook import service_figures, ticket_outlook
from server.line_store import LineStore
from server.payloads import entry_dict, outlook_dict, public_ticket, queue_dict

log = logging.getLogger(__name__)

#: Entries of a counter's order sent to its console.
CONSOLE_ENTRIES = 50
#: A site's figures go out at most this often (seconds): a clerk calling every few milliseconds, or a burst of
#: kiosk taps, costs one projection of the line per interval, not one per change (the calls themselves reach
#: the boards at once; only the figures — people ahead, waits, counts — wait up to this long).
MIN_INTERVAL = 0.2

Emit = Callable[[int, str, dict[str, Any], list[str]], None]


@dataclass(frozen=True)
class Listener:
    """A socket of this process that gets its own figures: a phone (`ticket_id`) or a console (`counter_id`)."""

    site_id: int
    ticket_id: int | None = None
    counter_id: int | None = None


class LinePublisher:
    def __init__(self, socketio: SocketIO, lines: LineStore, clock: Clock, emit: Emit) -> None:
        self.socketio = socketio
        self.lines = lines
        self.clock = clock
        self.emit = emit
        self._lock = threading.Condition()
        self._pending: dict[int, set[int]] = {}
        self._running = 0
        self._hall: dict[int, bool] = {}  # site → a local commit changed it (queue.changed is ours to send)
        self._listeners: dict[str, Listener] = {}
        self._sent: dict[str, Any] = {}
        self._sent_figures: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)
        self._last_refresh: dict[int, float] = {}  # site → time.monotonic() of its last refresh
        #: Told (site, line, now) after each refresh of a site, off the request (the near-turn messages).
        self.watchers: list[Callable[[int, Any, Any], Any]] = []

    # ------------------------------------------------------------ who listens here

    def listen(self, sid: str, listener: Listener) -> None:
        with self._lock:
            self._listeners[sid] = listener
            self._sent.pop(sid, None)

    def forget(self, sid: str) -> None:
        with self._lock:
            self._listeners.pop(sid, None)
            self._sent.pop(sid, None)

    # ------------------------------------------------------------ changes

    def changed(self, site_id: int, services: set[int], local: bool = True) -> None:
        """A site's line changed (`local`: by a commit of this process). Schedules one refresh."""
        with self._lock:
            first = site_id not in self._pending
            self._pending.setdefault(site_id, set()).update(services)
            self._hall[site_id] = self._hall.get(site_id, False) or local
        if first:
            self.socketio.start_background_task(self._refresh, site_id)

    def _refresh(self, site_id: int) -> None:
        self.socketio.sleep(0)  # the request that made the change answers first
        since = time.monotonic() - self._last_refresh.get(site_id, -MIN_INTERVAL)
        if since < MIN_INTERVAL:
            self.socketio.sleep(MIN_INTERVAL - since)  # changes meanwhile join this refresh
        with self._lock:
            self._last_refresh[site_id] = time.monotonic()
            services = self._pending.pop(site_id, set())
            hall = self._hall.pop(site_id, False)
            listeners = [(sid, lst) for sid, lst in self._listeners.items() if lst.site_id == site_id]
            self._running += 1
        try:
            self.send(site_id, services, hall, listeners)
        except Exception:  # a refresh must never take the process down; the next change sends again
            log.exception("could not send the figures of site %s", site_id)
        finally:
            with self._lock:
                self._running -= 1
                self._lock.notify_all()

    def settled(self, timeout: float = 10.0) -> bool:
        """Waits until every scheduled refresh has been sent (shutdown, tests); False after `timeout` seconds."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._pending and not self._running, timeout)

    def send(self, site_id: int, services: set[int], hall: bool, listeners: list[tuple[str, Listener]]) -> None:
        now = self.clock.now()
        line = self.lines.site(site_id, now)
        if hall:
            figures = {sid: queue_dict(f) for sid, f in service_figures(line, now).items()}
            before = self._sent_figures[site_id]
            moved = [f for sid, f in figures.items() if sid in services or _gist(before.get(sid)) != _gist(f)]
            self._sent_figures[site_id] = figures
            if moved:
                payload = {"site_id": site_id, "queues": moved}
                self.emit(site_id, "queue.changed", payload, [f"site:{site_id}", f"queues:{site_id}"])
        for sid, listener in listeners:
            message = self._message(line, listener, now)
            if message is not None and self._sent.get(sid) != message[1]:
                self._sent[sid] = message[1]
                self.socketio.emit(message[0], {**message[1], "direct": True}, to=sid, ignore_queue=True)
        for watcher in self.watchers:
            try:
                watcher(site_id, line, now)
            except Exception:  # a watcher's failure never stops the figures; the next change tries again
                log.exception("a line watcher failed on site %s", site_id)

    def _message(self, line: Any, listener: Listener, now: Any) -> tuple[str, dict[str, Any]] | None:
        if listener.ticket_id is not None:
            view = line.waiting.get(listener.ticket_id)
            if view is None:
                return None  # called, held, finished…: the ticket's own events say so
            outlook = ticket_outlook(line, listener.ticket_id, now)
            last = line.last_called.get(view.service_id)
            return "ticket.progress", {"ticket": public_ticket(view), "now_serving": last, **outlook_dict(outlook)}
        if listener.counter_id is not None:
            order = line.counter_order(listener.counter_id, now)
            return "counter.line", {
                "counter_id": listener.counter_id,
                "waiting": [entry_dict(entry, now) for entry in order[:CONSOLE_ENTRIES]],
                "total": len(order),
            }
        return None


def _gist(figures: dict[str, Any] | None) -> tuple | None:
    """What makes a service's figures worth sending again (the longest wait grows by itself on the clients)."""
    if figures is None:
        return None
    return tuple(figures[k] for k in ("waiting", "open_counters", "estimated_wait_minutes", "last_called", "opens_at"))
