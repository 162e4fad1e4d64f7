"""Limits on what one Socket.IO client can make the server do: connections and snapshot requests.

The tracking token is printed on every ticket, so anyone holding a ticket can open sockets; a phone that
floods `snapshot.request` or opens hundreds of sockets must not stall the hall (issue 14).

* ``SnapshotGate``: per socket, at most one snapshot in flight and at most one per ``interval`` seconds.
  Requests arriving in between are coalesced into one trailing snapshot, sent when the interval is over.
* ``ConnectionCaps``: at most ``per_token`` sockets per tracking token and ``per_address`` phone sockets per
  client address. Staff and devices are authenticated, accountable and not counted.

Times are ``time.monotonic()`` seconds (the app clock may be simulated; limits are about real time).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _SocketState:
    last: float = float("-inf")  # when the last snapshot was started
    busy: bool = False  # a snapshot is being built or sent
    trailing: bool = False  # a request came while busy or too soon: one more is owed


class SnapshotGate:
    """Coalesces and rate-limits snapshot requests per socket id.

    `request(sid, send)` either calls `send(sid)` now, or owes the socket one snapshot, sent by a background
    task (`spawn`) once `interval` seconds have passed since the last one. `forget(sid)` on disconnect.
    """

    def __init__(
        self,
        interval: float,
        spawn: Callable[..., object],
        sleep: Callable[[float], object],
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = interval
        self._spawn = spawn
        self._sleep = sleep
        self._now = now
        self._lock = threading.Lock()
        self._sockets: dict[str, _SocketState] = {}
        self.sent = 0  # snapshots sent through the gate (for tests and the bench)
        self.coalesced = 0  # requests folded into another snapshot

    def request(self, sid: str, send: Callable[[str], None]) -> bool:
        """True if the snapshot was sent now, False if it was folded into a later (or running) one."""
        with self._lock:
            state = self._sockets.setdefault(sid, _SocketState())
            wait = state.last + self.interval - self._now()
            if state.busy or wait > 0:
                self.coalesced += 1
                if not state.trailing:
                    state.trailing = True
                    self._spawn(self._trailing, sid, send, max(wait, 0.0))
                return False
            state.busy, state.last = True, self._now()
        self._run(sid, send)
        return True

    def forget(self, sid: str) -> None:
        with self._lock:
            self._sockets.pop(sid, None)

    def started(self, sid: str) -> None:
        """A snapshot sent outside the gate (on connect) counts as the socket's last one."""
        with self._lock:
            self._sockets.setdefault(sid, _SocketState()).last = self._now()

    def _run(self, sid: str, send: Callable[[str], None]) -> None:
        try:
            send(sid)
            self.sent += 1
        finally:
            with self._lock:
                state = self._sockets.get(sid)
                if state is not None:
                    state.busy = False

    def _trailing(self, sid: str, send: Callable[[str], None], wait: float) -> None:
        for _ in range(100):  # bounded: each round waits out the interval or a snapshot in flight
            if wait > 0:
                self._sleep(wait)
            with self._lock:
                state = self._sockets.get(sid)
                if state is None:
                    return  # disconnected meanwhile
                wait = state.last + self.interval - self._now()
                if state.busy or wait > 0:
                    wait = max(wait, 0.05)
                    continue
                state.busy, state.trailing, state.last = True, False, self._now()
            self._run(sid, send)
            return


@dataclass
class ConnectionCaps:
    """Counts open sockets per key ("token:…", "address:…"); `admit` refuses one over its cap."""

    per_token: int
    per_address: int
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    _keys: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def admit(self, sid: str, *, address: str, tracking: str | None) -> bool:
        """Counts a phone socket (tracking token) from `address`; False (and nothing counted) over a cap."""
        if not tracking:
            return True
        keys = ((f"token:{tracking}", self.per_token), (f"address:{address}", self.per_address))
        with self._lock:
            if any(self._counts[key] >= cap for key, cap in keys):
                return False
            for key, _ in keys:
                self._counts[key] += 1
            self._keys[sid] = tuple(key for key, _ in keys)
        return True

    def release(self, sid: str) -> None:
        with self._lock:
            for key in self._keys.pop(sid, ()):
                self._counts[key] -= 1
                if self._counts[key] <= 0:
                    del self._counts[key]


class InboundLimiter:
    """Per-socket budget of incoming Socket.IO messages: `rate` a second, bursts of `burst`.

    python-engineio reads a websocket in a loop that never yields while data is waiting, and starts a green
    thread per message: one client sending as fast as it can would hold the eventlet hub and pile up green
    threads. `install` wraps the Engine.IO server's event dispatch: every incoming message yields to the hub
    once, and a client over its budget has its own reader put to sleep until it is back within it (its TCP
    window fills, the client slows down). Other clients are not affected.
    """

    def __init__(self, rate: float = 20.0, burst: float = 60.0, now: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._now = now
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # sid → (tokens, at)
        self.delayed = 0  # messages that had to wait (for tests and the bench)

    def take(self, sid: str) -> float:
        """Seconds the sender of one more message must wait (0: within budget)."""
        now = self._now()
        with self._lock:
            tokens, at = self._buckets.get(sid, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate) - 1.0
            self._buckets[sid] = (tokens, now)
        if tokens >= 0:
            return 0.0
        self.delayed += 1
        return -tokens / self.rate

    def forget(self, sid: str) -> None:
        with self._lock:
            self._buckets.pop(sid, None)

    def install(self, eio_server: object, sleep: Callable[[float], object]) -> None:
        """Wraps `eio_server._trigger_event` (python-engineio) for "message" and "disconnect"."""
        dispatch = getattr(eio_server, "_trigger_event", None)
        if dispatch is None or getattr(dispatch, "_luot_inbound", False):
            return

        def trigger(event: str, *args: object, **kwargs: object) -> object:
            if event == "message" and args:
                wait = self.take(str(args[0]))
                sleep(wait)  # 0: just let the hub run the others
            elif event == "disconnect" and args:
                self.forget(str(args[0]))
            return dispatch(event, *args, **kwargs)

        trigger._luot_inbound = True  # type: ignore[attr-defined]
        eio_server._trigger_event = trigger  # type: ignore[attr-defined]
