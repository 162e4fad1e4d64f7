"""A hung PostgreSQL (accepts, never answers) costs a request a few seconds and a clean 503, not an endless wait
and then a 500; /healthz answers within the timeout (issue 19, item 6). PostgreSQL's host still acknowledges TCP in
this drill, so only the server's own bounds help: libpq's connect timeout and the pool's wait (LUOT_DB_TIMEOUT)."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from tests.integration._live import Api
from tests.scaleout.conftest import PG_PORT, pg_url, redis_url
from tests.support.proxy import FaultProxy

pytestmark = [pytest.mark.scaleout, pytest.mark.slow]

TIMEOUT = 2  # LUOT_DB_TIMEOUT of the server under test


def test_a_hung_postgresql_gives_503_within_seconds_and_healthz_answers(scale_world, start_server):
    world = scale_world.world
    proxy = FaultProxy(PG_PORT)
    try:
        server = start_server(
            pg_url(scale_world.database_url.rsplit("/", 1)[1], proxy.port),
            redis_url(scale_world.redis_number),
            LUOT_DB_POOL_SIZE="2",
            LUOT_DB_TIMEOUT=str(TIMEOUT),
        )
        kiosk = Api(server.url, world.kiosk_token)
        kiosk.ok("/tickets", {"service": "TP-A"})

        proxy.hang()
        answers: list[tuple[float, int, str]] = []

        def tap() -> None:
            api = Api(server.url, world.kiosk_token)
            started = time.monotonic()
            try:
                response = api.post("/tickets", {"service": "TP-A"}, timeout=30)
                code = response.json().get("error", {}).get("code", "") if response.status_code >= 400 else ""
                answers.append((time.monotonic() - started, response.status_code, code))
            except requests.RequestException as exc:
                answers.append((time.monotonic() - started, 0, exc.__class__.__name__))
            api.close()

        taps = [threading.Thread(target=tap) for _ in range(8)]
        for thread in taps:
            thread.start()
        started = time.monotonic()
        health = requests.get(f"{server.url}/healthz", timeout=30)
        health_seconds = time.monotonic() - started
        quick = time.monotonic() + 4 * TIMEOUT  # wait for the bounded answers only
        while len(answers) < 6 and time.monotonic() < quick:
            time.sleep(0.05)
        bounded = list(answers)
        proxy.restore()  # the taps stuck on a pooled connection's read end now
        for thread in taps:
            thread.join(40)

        assert health.status_code == 503 and health_seconds < 2 * TIMEOUT + 1, (health.status_code, health_seconds)
        assert len(bounded) >= 6, answers  # only the pool's connections (2) may wait for the engine
        assert all(status == 503 and code == "storage_unavailable" for _, status, code in bounded), bounded
        assert all(status in (201, 503) for _, status, _ in answers), answers  # never a 500
        assert kiosk.post("/tickets", {"service": "TP-A"}).status_code == 201  # back by itself
        kiosk.close()
    finally:
        proxy.close()
