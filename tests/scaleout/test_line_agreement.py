"""Two processes on PostgreSQL + Redis tell every citizen the same place in the line: each process keeps the lines
in memory and rebuilds a site when the other says it changed it (server.line_bus)."""

from __future__ import annotations

import time

import pytest

from tests.integration._live import Api
from tests.scaleout.conftest import redis_url

pytestmark = [pytest.mark.scaleout, pytest.mark.slow]


def _figures(api: Api, tokens: list[str]) -> list[tuple]:
    figures = []
    for token in tokens:
        status = api.get(f"/tickets/{token}").json()
        figures.append((status["status"], status["waiting_ahead"], status["estimated_wait_minutes"]))
    return figures


def _agreeing(a: Api, b: Api, tokens: list[str], timeout: float = 10.0) -> list[tuple]:
    """The figures both processes give, once they agree (the other process hears of a change within ms)."""
    deadline = time.monotonic() + timeout
    while True:
        on_a, on_b = _figures(a, tokens), _figures(b, tokens)
        if on_a == on_b:
            return on_a
        if time.monotonic() > deadline:
            raise AssertionError(f"the processes disagree: {on_a} != {on_b}")
        time.sleep(0.05)


def test_two_processes_agree_on_every_position_and_wait(scale_world, start_server):
    world = scale_world.world
    queue = redis_url(scale_world.redis_number)
    a = start_server(scale_world.database_url, queue)
    b = start_server(scale_world.database_url, queue)
    kiosk_a, kiosk_b, clerk_b = Api(a.url, world.kiosk_token), Api(b.url, world.kiosk_token), Api(b.url)
    public_a, public_b = Api(a.url), Api(b.url)
    try:
        clerk_b.token = clerk_b.login("clerk1")
        clerk_b.ok(f"/counters/{world.counters['c1']}/open")
        tokens = []
        for index, service in enumerate(["TP-A", "TP-B", "TP-A", "TP-B", "TP-A"]):
            kiosk = kiosk_a if index % 2 == 0 else kiosk_b
            tokens.append(kiosk.ok("/tickets", {"service": service})["tracking_token"])
        before = _agreeing(public_a, public_b, tokens)
        assert [ahead for _s, ahead, _m in before] == [0, 1, 2, 3, 4]  # counter 1 serves both services
        elderly = kiosk_b.ok("/tickets", {"service": "TP-B", "priority": "elderly"})["tracking_token"]
        after = _agreeing(public_a, public_b, [*tokens, elderly])
        assert after[-1][1] == 0  # the priority arrival goes first …
        assert [ahead for _s, ahead, _m in after[:-1]] == [1, 2, 3, 4, 5]  # … and everyone else moves back
        clerk_b.ok(f"/counters/{world.counters['c1']}/next")
        called = _agreeing(public_a, public_b, [*tokens, elderly])
        assert called[-1][0] == "called" and [ahead for _s, ahead, _m in called[:-1]] == [0, 1, 2, 3, 4]
    finally:
        for api in (kiosk_a, kiosk_b, clerk_b, public_a, public_b):
            api.close()
