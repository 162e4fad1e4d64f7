"""A hall board in Python that follows web/lib/live.js and display/js/board.js: for tests that need many boards.

Rules copied from the browser code (keep them in step):
- live.js: a snapshot sets (seq, epoch); the next event is applied; one not above the last is dropped; a gap or
  another epoch asks for a snapshot and holds the events until it comes, then replays those of its epoch.
  A refused connection (CONNECT_ERROR) is retried with back-off.
- board.js: a `ticket.called` / `ticket.recalled` applied is announced once (by call id); the snapshot's recent
  calls not yet played, made within the last 2 minutes, are announced too, oldest first.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import socketio

from tests.support.ordered_client import OrderedClient

CALLS = ("ticket.called", "ticket.recalled")
STALE = timedelta(minutes=2)


@dataclass
class Heard:
    """What one board did: events in arrival order and the calls it announced."""

    events: list[tuple[str, int, str]] = field(default_factory=list)  # (name, seq, epoch) of sequenced events
    applied: list[tuple[str, int]] = field(default_factory=list)  # (name, seq) handed to a handler
    announced: dict[str, float] = field(default_factory=dict)  # call id → time.monotonic() when announced
    received_calls: set[str] = field(default_factory=set)  # every call id that arrived, applied or not
    call_times: dict[str, str] = field(default_factory=dict)  # call id → the call's "at" (ISO), from any source
    call_tickets: dict[str, int] = field(default_factory=dict)  # call id → ticket id
    snapshots: int = 0
    snapshot_times: list[float] = field(default_factory=list)  # time.monotonic() of each snapshot
    refusals: list[Any] = field(default_factory=list)  # connect_error payloads
    log: list[tuple[Any, ...]] = field(default_factory=list)  # everything, in arrival order (for diagnoses)
    #: Indexes into `events` where a snapshot after a lost connection restarted the board's count (live.js
    #: resyncs from that snapshot: what was sent while it was away is not a gap in the order).
    reconnected_at: list[int] = field(default_factory=list)


class LiveBoard:
    """One board connected to `url` with a board device `token`; `heard` is filled from Socket.IO's thread."""

    def __init__(self, url: str, token: str, connect: bool = True, snapshot_calls: bool = True) -> None:
        self.url = url
        self.token = token
        self.snapshot_calls = snapshot_calls
        self.heard = Heard()
        self.lock = threading.Lock()
        self.last_seq: int | None = None
        self.epoch: str | None = None
        self.asked = 0.0
        self.held: list[tuple[str, dict[str, Any]]] | None = []  # events held while a snapshot is on its way
        self.away = False  # the connection was lost; its next snapshot restarts the count
        self.client = OrderedClient(reconnection=True, reconnection_delay=0.5, reconnection_delay_max=2)
        self.client.on("snapshot", self._on_snapshot)
        self.client.on("connect_error", self._on_refused)
        self.client.on("*", self._on_any)
        self.client.on("connect", lambda: self._note("connect"))
        self.client.on("disconnect", self._on_disconnect)
        if connect:
            self.connect()

    def connect(self, wait_timeout: float = 10) -> None:
        self.client.connect(self.url, auth={"token": self.token}, transports=["websocket"], wait_timeout=wait_timeout)

    # ------------------------------------------------------------ live.js

    def _ask(self) -> None:
        if self.held is None:
            self.held = []
        if self.asked and time.monotonic() - self.asked < 5:
            return
        self.asked = time.monotonic()
        with contextlib.suppress(socketio.exceptions.SocketIOError):
            self.client.emit("snapshot.request")

    def _on_disconnect(self, *_: Any) -> None:
        with self.lock:
            if self.held is None:
                self.held = []  # the next connection brings a snapshot (which may come before "connect")
            self.away = True
        self._note("disconnect")

    def _note(self, what: str) -> None:
        with self.lock:
            self.heard.log.append((what, round(time.monotonic(), 2)))

    def _on_refused(self, data: Any = None) -> None:
        with self.lock:
            self.heard.refusals.append(data)

    def _on_snapshot(self, snapshot: dict[str, Any]) -> None:
        with self.lock:
            self.asked = 0.0
            if self.away:
                self.away = False
                self.heard.reconnected_at.append(len(self.heard.events))
            self.last_seq, self.epoch = snapshot["seq"], snapshot["epoch"]
            self.heard.snapshots += 1
            self.heard.snapshot_times.append(time.monotonic())
            recent = [c["call_id"][:6] for c in snapshot.get("recent_calls") or []]
            self.heard.log.append(("snapshot", round(time.monotonic(), 2), snapshot["seq"], snapshot["epoch"], recent))
            for call in snapshot.get("recent_calls") or []:
                self.heard.call_times.setdefault(call["call_id"], call["at"])
                self.heard.call_tickets.setdefault(call["call_id"], call["ticket_id"])
            if self.snapshot_calls:
                now = datetime.fromisoformat(snapshot["now"])
                for call in reversed(snapshot.get("recent_calls") or []):
                    if now - datetime.fromisoformat(call["at"]) <= STALE:
                        self._announce(call["call_id"])
            replay, self.held = self.held or [], None
            for name, payload in replay:
                if payload.get("epoch") == self.epoch:
                    self._receive(name, payload)

    def _on_any(self, name: str, payload: Any = None) -> None:
        if not isinstance(payload, dict) or not isinstance(payload.get("seq"), int):
            return
        with self.lock:
            self.heard.events.append((name, payload["seq"], str(payload.get("epoch"))))
            self.heard.log.append((name, payload["seq"], payload.get("epoch"), str(payload.get("call_id"))[:6]))
            if name in CALLS:
                self.heard.received_calls.add(payload["call_id"])
                self.heard.call_times.setdefault(payload["call_id"], payload["at"])
                self.heard.call_tickets.setdefault(payload["call_id"], payload["ticket"]["id"])
            self._receive(name, payload)

    def _receive(self, name: str, payload: dict[str, Any]) -> None:
        """live.js `receive`: the next event is applied; a gap or a new epoch holds events until a snapshot."""
        if self.held is not None:
            if len(self.held) < 1000:
                self.held.append((name, payload))
            self._ask()
            return
        assert self.last_seq is not None
        if payload.get("epoch") != self.epoch or payload["seq"] > self.last_seq + 1:
            self.held = [(name, payload)]
            self._ask()
            return
        if payload["seq"] <= self.last_seq:
            return
        self.last_seq = payload["seq"]
        self.heard.applied.append((name, payload["seq"]))
        if name in CALLS:
            self._announce(payload["call_id"])

    # ------------------------------------------------------------ board.js

    def _announce(self, call_id: str) -> None:
        if call_id and call_id not in self.heard.announced:
            self.heard.announced[call_id] = time.monotonic()

    # ------------------------------------------------------------ for the tests

    def announced_in_order(self) -> list[str]:
        """Call ids in the order this board announced them."""
        with self.lock:
            return list(self.heard.announced)  # a dict keeps the order of insertion

    def announced(self) -> dict[str, float]:
        with self.lock:
            return dict(self.heard.announced)

    def out_of_order(self) -> int:
        """Sequenced events that arrived with a seq not one above the previous of the same epoch (a reorder or a
        gap), except across a snapshot that followed a lost connection (`Heard.reconnected_at`)."""
        return len(self.anomalies())

    def anomalies(self) -> list[tuple[Any, ...]]:
        """(index, previous event, event) of each pair `out_of_order` counts, for the failure message."""
        with self.lock:
            events = list(self.heard.events)
            restarts = set(self.heard.reconnected_at)
        wrong: list[tuple[Any, ...]] = []
        for index, (before, after) in enumerate(itertools.pairwise(events), start=1):
            if index in restarts:
                continue
            if after[2] == before[2] and after[1] != before[1] + 1:
                wrong.append((index, before, after))
        return wrong

    def close(self) -> None:
        self.client.disconnect()


def wait_until(condition: Any, timeout: float, what: str) -> None:
    """Polls `condition()` every 20 ms until true; AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout}s waiting for {what}")
        time.sleep(0.02)
