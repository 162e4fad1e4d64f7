"""Committed events leave after the request that committed them has answered, in commit order (issue 13).

A clerk's Call next waited for its own fan-out: the call, the finish and the counter change built into payloads
(the call's announcement text included) and sent to every room — about 80 µs of a 1 ms request on the bench
machine, none of it anything the clerk's answer needs. Under eventlet or gevent `AfterAnswer` queues each
transaction's events and sends them from one green thread started for the purpose: it runs when the request's
green thread next waits (after its answer is written), and being the only sender it keeps commit order. The
boards hear the call a fraction of a millisecond later; the clerk's key press answers that much sooner.

Only a process without a message queue defers: with several processes on a queue, each numbers its events
when it sends them, and a call deferred on one process could be numbered
after a call asked on the other once the first was answered (boards would announce them in that order). There the
hub sends before answering, as before.

Under threading (tests, tools) the events are sent at once, in the committing thread, as before: a thread per
transaction would cost more than it saves, and the order would need another lock.

`flush()` sends what is queued when it gets its turn, in order, before returning: a socket that connects calls it
before joining its rooms, and a snapshot before reading the site's position, so that no event committed before
reaches a client after a snapshot that already shows its effect (a phone, unsequenced, would replay it).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Send = Callable[[list[Any]], None]


class AfterAnswer:
    """Calling it with one committed transaction's events queues them for `send`; `flush()` sends the queue now.

    `spawn(function)` starts a green thread (Flask-SocketIO's `start_background_task`); `defer` False sends at
    once. Errors of `send` are logged, never raised to the committing request (it committed; clients resync from
    snapshots). `on_sent(events, seconds)`, if set, hears of each transaction sent and how long after it was
    handed over (the metrics' publish lag)."""

    def __init__(self, send: Send, spawn: Callable[[Callable[[], None]], Any], defer: bool) -> None:
        self.send = send
        self.spawn = spawn
        self.defer = defer
        self.on_sent: Callable[[list[Any], float], None] | None = None
        self._queue: deque[tuple[float, list[Any]]] = deque()
        self._sending = threading.Lock()  # green under eventlet/gevent: one sender at a time, in queue order
        self._scheduled = False

    def __call__(self, events: list[Any]) -> None:
        if not self.defer:
            self._send(time.perf_counter(), events)
            return
        self._queue.append((time.perf_counter(), events))
        if not self._scheduled:
            self._scheduled = True
            self.spawn(self._run)

    def _run(self) -> None:
        self._scheduled = False  # a transaction queued from now on schedules another run (which may find none)
        with self._sending:
            while self._queue:
                self._send(*self._queue.popleft())

    def flush(self) -> None:
        """Sends the transactions queued when it gets its turn, oldest first (after a sender already at work);
        those queued meanwhile are left to the scheduled run, so a snapshot never waits on a stream of commits."""
        with self._sending:
            for _ in range(len(self._queue)):
                self._send(*self._queue.popleft())

    def _send(self, queued_at: float, events: list[Any]) -> None:
        try:
            self.send(events)
        except Exception:
            log.exception("events were committed but could not be sent; clients resync from snapshots")
        if self.on_sent is not None:
            try:
                self.on_sent(events, time.perf_counter() - queued_at)
            except Exception:
                log.exception("the sent-events hook failed")

    @property
    def pending(self) -> int:
        """Transactions queued and not yet sent."""
        return len(self._queue)
