"""What keeps one event loop fair when every clerk and kiosk of a lobby asks at once (issue 13).

- The rate limiter's store starts no thread per request (`server.rate_storage`): under eventlet a thread start
  made the request yield and queue behind every other ready request.
- The eventlet hub serves the connections one poll found ready in the order the kernel reported them
  (`server.fair_hub`), not in a set's hash order. Checked in a child process under eventlet with real sockets,
  against eventlet's own hub too, so the test shows the difference it is about.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from limits import RateLimitItemPerSecond, parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from server.rate_storage import SWEEP_INTERVAL, LobbyMemoryStorage

ROOT = Path(__file__).resolve().parents[2]


def test_the_limiter_store_counts_like_the_library_and_starts_no_thread_per_hit(monkeypatch) -> None:
    storage = storage_from_string("luot-memory://")
    assert isinstance(storage, LobbyMemoryStorage)
    storage.timer.join(5)  # the library's first timer (started at construction) has ended
    limiter = FixedWindowRateLimiter(storage)
    limit = parse("5/minute")
    started: list[threading.Thread] = []
    real_start = threading.Thread.start

    def counting_start(thread: threading.Thread) -> None:
        started.append(thread)
        real_start(thread)

    monkeypatch.setattr(threading.Thread, "start", counting_start)
    answers = [limiter.hit(limit, "kiosk-1") for _ in range(7)]
    for _ in range(200):
        limiter.hit(parse("1000/second"), "clerk-1")
    assert answers == [True] * 5 + [False] * 2  # the library's fixed window, unchanged
    assert limiter.hit(limit, "kiosk-2")  # keys apart
    assert started == []  # the library's MemoryStorage starts a Timer thread whenever its last one ended


def test_expired_counters_are_dropped_by_a_sweep_at_most_once_a_second(monkeypatch) -> None:
    moments = iter(range(10**6))
    now = {"wall": 1_000_000.0, "mono": 500.0}
    monkeypatch.setattr("server.rate_storage.time.monotonic", lambda: now["mono"])
    monkeypatch.setattr("limits.storage.memory.time.time", lambda: now["wall"])
    storage = LobbyMemoryStorage()
    limiter = FixedWindowRateLimiter(storage)
    second = RateLimitItemPerSecond(1)
    assert limiter.hit(second, f"visitor-{next(moments)}")
    assert storage.sweeps == 0
    now["wall"] += 2  # the first window is over: its counter is expired, not yet freed
    now["mono"] += SWEEP_INTERVAL / 2
    assert limiter.hit(second, "visitor-x")
    assert storage.sweeps == 0 and len(storage.storage) == 2
    now["mono"] += SWEEP_INTERVAL
    assert limiter.hit(second, "visitor-y")
    assert storage.sweeps == 1
    assert "visitor-0" not in " ".join(storage.storage)  # freed; the live ones stay
    assert len(storage.storage) == 2
    assert not limiter.hit(second, "visitor-y")  # still counted within its window


_ORDER_CHILD = textwrap.dedent(
    """
    import json, sys
    import eventlet
    from eventlet import hubs
    if sys.argv[1] == "fair":
        from server import fair_hub
        fair_hub.install()
    eventlet.monkey_patch()
    import socket
    served = []
    pairs = [socket.socketpair() for _ in range(24)]  # green sockets: the module is patched

    def reader(index, sock):
        sock.recv(1)
        served.append(index)

    threads = [eventlet.spawn(reader, i, pair[0]) for i, pair in enumerate(pairs)]
    eventlet.sleep(0)  # every reader waits in the hub
    for index in (7, 3, 19, 0, 23, 11, 5, 16, 2, 21, 9, 14, 1, 22, 6, 18, 10, 4, 13, 20, 8, 17, 12, 15):
        pairs[index][1].send(b"x")  # ready in this order before the hub polls once
    for thread in threads:
        thread.wait()
    print(json.dumps({"hub": type(hubs.get_hub()).__module__, "served": served}))
    """
)
READY_ORDER = [7, 3, 19, 0, 23, 11, 5, 16, 2, 21, 9, 14, 1, 22, 6, 18, 10, 4, 13, 20, 8, 17, 12, 15]


def _served(mode: str, **env: str) -> dict:
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c", _ORDER_CHILD, mode],  # use_hub warns on a bad hub
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={k: v for k, v in os.environ.items() if k != "EVENTLET_HUB"} | env,
    )
    assert time.monotonic() - began < 60
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_hub_serves_the_connections_of_one_poll_first_ready_first_served() -> None:
    fair = _served("fair")
    assert fair["hub"] == "server.fair_hub"
    assert fair["served"] == READY_ORDER
    stock = _served("stock")  # eventlet's own hub: the same poll, served in a set's order
    assert stock["hub"] == "eventlet.hubs.epolls"
    assert sorted(stock["served"]) == sorted(READY_ORDER)
    assert stock["served"] != READY_ORDER
    chosen = _served("fair", EVENTLET_HUB="poll")  # an operator's own choice of hub still wins
    assert chosen["hub"] == "eventlet.hubs.poll"


def test_no_request_pays_for_the_limiter_s_app_wide_check_while_no_app_wide_limit_exists(app) -> None:
    """Lượt's limits are per route (issuing, OTP; those still answer 429: tests/integration/test_api_contract.py);
    Flask-Limiter's before-request pass looked for default and application limits on every request and found none."""
    from server.extensions import limiter

    assert limiter.limit_manager.default_limits == [] and limiter.limit_manager.application_limits == []
    assert limiter._check_request_limit not in app.before_request_funcs.get(None, [])
    assert any("tickets" in name for name in limiter._marked_for_limiting)  # the issuing route checks its own
