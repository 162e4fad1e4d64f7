"""Per-site event numbers (`seq`) under an `epoch`, and the one place that numbers and sends an event.

A client (web/lib/live.js) applies an event only when its epoch is the one of its snapshot and its seq is the
next one; a new epoch makes it ask for a snapshot. So the epoch must change whenever the numbering starts over,
and events must reach every client in the order they were numbered.

- One process (no message queue): numbers in memory, the epoch is random per process start. Numbering and
  sending happen in one step without yielding to another green thread, so the order holds.
- Several processes (Redis message queue): `SequencedRedisManager`. The counter and the epoch live in one Redis
  hash per site (`luot:events:<site>`, fields `n` and `epoch`); a Lua script creates the epoch when it is
  missing (a flushed or restarted-empty Redis makes a new one, with the counter), increments the counter and
  PUBLISHes the message, all in one atomic step. Every process, the sending one included, delivers the
  channel's messages in channel order, so all boards see a site's events in seq order.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import socketio

from server.failure_log import FailureLog

log = logging.getLogger(__name__)
SEQUENCED_HOST = "luot-sequenced"  # not any process's host id: every process, the sender too, delivers it

# KEYS[1] the site's hash; ARGV: epoch candidate, channel, message head, message tail.
_EMIT = """
redis.call('HSETNX', KEYS[1], 'epoch', ARGV[1])
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
local e = redis.call('HGET', KEYS[1], 'epoch')
redis.call('PUBLISH', ARGV[2], ARGV[3] .. e .. '","seq":' .. n .. ARGV[4])
return n
"""
# KEYS[1] the site's hash; ARGV[1] epoch candidate. Returns {n, epoch}.
_POSITION = """
redis.call('HSETNX', KEYS[1], 'epoch', ARGV[1])
local v = redis.call('HMGET', KEYS[1], 'n', 'epoch')
return {tonumber(v[1]) or 0, v[2]}
"""


def site_key(site_id: int) -> str:
    return f"luot:events:{site_id}"


def new_epoch() -> str:
    return uuid.uuid4().hex[:12]


class LocalOrder:
    """One process: numbers in memory; `emit(site, name, payload, rooms)` numbers and sends in one step."""

    def __init__(self, server: Any) -> None:
        self._server = server  # a flask_socketio.SocketIO (its .emit)
        self.epoch = new_epoch()
        self._lock = threading.Lock()
        self._counters: dict[int, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self._current: dict[int, int] = defaultdict(int)

    def emit(self, site_id: int, name: str, payload: dict[str, Any], rooms: list[str]) -> None:
        with self._lock:
            seq = next(self._counters[site_id])
            self._current[site_id] = seq
        self._server.emit(name, {**payload, "seq": seq, "epoch": self.epoch}, to=rooms)

    def position(self, site_id: int) -> tuple[int, str]:
        """(the last seq sent, the epoch) for a snapshot."""
        with self._lock:
            return self._current[site_id], self.epoch

    def ping(self) -> None:
        """Nothing to reach."""


class SequencedRedisManager(socketio.RedisManager):
    """python-socketio's Redis manager plus `emit_sequenced`: number and publish in one Lua script.

    Sequenced messages carry the host id `SEQUENCED_HOST`, so the sending process delivers them too when they come
    back from the channel (never before), in channel order. Plain `emit` (snapshots to one client, print jobs) is
    unchanged.
    """

    _numbering: Any = None
    listening = False  # subscribed to the channel right now (the listener thread sets it)
    QUIET_PING = 3.0  # seconds without a message before the listener pings Redis
    QUIET_LIMIT = 8.0  # seconds without any answer (a hung Redis): connect again

    def _redis_listen_with_retries(self) -> Iterator[dict[str, Any]]:
        """The channel's messages, for ever: reconnects after 0.2–2 s when Redis fails or stops answering.

        Unlike the library's listener (blocking reads, which a socket timeout breaks on every quiet channel, and a
        back-off up to 60 s), it polls, pings a quiet Redis and knows when it is subscribed (`listening`): events
        published while it is not are lost for this process's clients, so the hub refuses writes meanwhile.
        """
        delay = 0.2
        failures = FailureLog(log, "the message queue listener (Redis)", traceback=False)
        while True:
            pubsub = None
            try:
                client = self._get_redis_module().Redis.from_url(self.redis_url, **self.redis_options)
                pubsub = client.pubsub()
                pubsub.subscribe(self.channel)
                heard = pinged = time.monotonic()
                while True:
                    message = pubsub.get_message(timeout=1.0)
                    now = time.monotonic()
                    if message is not None:
                        heard = now
                        if message["type"] == "subscribe":
                            self.listening, delay = True, 0.2
                            failures.worked()
                        yield message
                    elif now - heard > self.QUIET_LIMIT:
                        raise TimeoutError(f"Redis silent for {now - heard:.0f} s")
                    elif now - heard > self.QUIET_PING and now - pinged > self.QUIET_PING:
                        pubsub.ping()
                        pinged = now
            except Exception as exc:  # keep listening through Redis outages
                self.listening = False
                failures.failed(exc, "reconnecting every 0.2–2 s")
                if pubsub is not None:
                    with contextlib.suppress(Exception):
                        pubsub.close()
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    def ready(self, wait: float) -> bool:
        """Whether this process hears the channel (waits up to `wait` seconds for its listener to subscribe).

        True before the listener has started (no client connected yet: nobody here to lose an event)."""
        if not getattr(self.server, "manager_initialized", False):
            return True
        deadline = time.monotonic() + wait
        while not self.listening and time.monotonic() < deadline:
            self.server.sleep(0.05)
        return self.listening

    def _client(self) -> Any:
        """Its own client (a pool that reconnects by itself), apart from the listener's pub/sub connection."""
        if self._numbering is None:
            self._numbering = self._get_redis_module().Redis.from_url(self.redis_url, **self.redis_options)
        return self._numbering

    def emit_sequenced(self, site_id: int, name: str, payload: dict[str, Any], rooms: list[str]) -> int:
        """Numbers the event in its site and publishes it; returns its seq. Raises a redis error if Redis fails."""
        body = {k: v for k, v in payload.items() if k not in ("seq", "epoch")}
        envelope = {
            "method": "emit",
            "event": name,
            "binary": False,
            "namespace": "/",
            "room": rooms,
            "skip_sid": None,
            "callback": None,
            "host_id": SEQUENCED_HOST,
        }
        head = json.dumps(envelope, separators=(",", ":"))[:-1] + ',"data":[{"epoch":"'
        rest = json.dumps(body, separators=(",", ":"), default=str)
        tail = ("," + rest[1:] if body else "}") + "]}"
        return int(self._client().eval(_EMIT, 1, site_key(site_id), new_epoch(), self.channel, head, tail))

    def position(self, site_id: int) -> tuple[int, str]:
        """(the site's last seq, its epoch), creating the epoch if Redis has none (fresh or flushed)."""
        n, epoch = self._client().eval(_POSITION, 1, site_key(site_id), new_epoch())
        return int(n), epoch.decode() if isinstance(epoch, bytes) else str(epoch)

    def ping(self) -> None:
        self._client().ping()


class RedisOrder:
    """Several processes: the numbering and sending of `SequencedRedisManager`."""

    def __init__(self, manager: SequencedRedisManager) -> None:
        self.manager = manager

    def emit(self, site_id: int, name: str, payload: dict[str, Any], rooms: list[str]) -> None:
        self.manager.emit_sequenced(site_id, name, payload, rooms)

    def position(self, site_id: int) -> tuple[int, str]:
        return self.manager.position(site_id)

    def ping(self) -> None:
        """Raises a redis error when Redis does not answer or this process no longer hears the channel."""
        self.manager.ping()
        if not self.manager.ready(wait=2.0):
            from redis.exceptions import ConnectionError as RedisConnectionError

            raise RedisConnectionError("this process is not subscribed to the message queue")
