"""Issue 14, item 2 against a real eventlet server: a phone flooding `snapshot.request` over a websocket does
not freeze the server (python-engineio reads a busy websocket without yielding; the inbound budget makes it)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import requests

from server.process import ServerProcess
from server.socket_limits import InboundLimiter
from tests.support.api import bearer
from tests.support.ordered_client import OrderedClient
from tests.support.world import build_world


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_inbound_budget_allows_bursts_then_a_steady_rate() -> None:
    clock = FakeClock()
    limiter = InboundLimiter(rate=10, burst=5, now=clock)
    assert [limiter.take("a") for _ in range(5)] == [0.0] * 5
    assert limiter.take("a") == pytest.approx(0.1)
    assert limiter.take("b") == 0.0  # another socket has its own budget
    clock.now += 1.0
    assert limiter.take("a") == 0.0
    limiter.forget("a")
    assert limiter.take("a") == 0.0


@pytest.mark.slow
def test_a_snapshot_flood_does_not_freeze_the_server(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "instance")
    world = server.prepare(build_world)
    server.start()
    stop = threading.Event()
    phone = OrderedClient(reconnection=False)
    try:
        issued = requests.post(
            f"{server.url}/api/v1/tickets", json={"service": "TP-A"}, headers=bearer(world.kiosk_token), timeout=10
        )
        tracking = issued.json()["tracking_token"]
        phone.connect(server.url, auth={"tracking_token": tracking}, transports=["websocket"], wait_timeout=10)
        sent = [0]

        def flood() -> None:
            deadline = time.monotonic() + 20  # bounded even if the probe below fails early
            while not stop.is_set() and phone.connected and time.monotonic() < deadline:
                try:
                    phone.emit("snapshot.request")
                except Exception:  # the server stopped reading us: that is the defence
                    return
                sent[0] += 1

        hook = threading.excepthook
        threading.excepthook = lambda args: None if "timed out" in str(args.exc_value) else hook(args)
        flooder = threading.Thread(target=flood, daemon=True)
        flooder.start()
        while sent[0] < 2000 and flooder.is_alive():
            time.sleep(0.01)  # until the flood is under way (bounded by the flooder's own deadline)
        http = requests.Session()
        took = []
        for _ in range(40):
            began = time.perf_counter()
            assert http.get(f"{server.url}/healthz", timeout=5).status_code == 200
            took.append(time.perf_counter() - began)
        assert max(took) < 1.0, f"/healthz took up to {max(took):.2f} s during the flood"
    finally:
        stop.set()
        phone.disconnect()
        server.stop()
        threading.excepthook = threading.__excepthook__
