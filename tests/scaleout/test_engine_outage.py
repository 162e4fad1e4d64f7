"""When PostgreSQL or Redis goes away, kiosks and consoles get a clear 503 in the JSON error format,
nothing acknowledged is lost, and service comes back by itself when the engine returns.

The outage is staged with a TCP proxy between the server and the engine, cut and restored by the test.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from sqlmodel import select

from server.db import Database
from server.models import Ticket
from server.settings import load_settings
from tests.integration._live import Api, Listener
from tests.scaleout.conftest import PG_PORT, REDIS_PORT, pg_url, redis_url
from tests.support.world import PASSWORD

pytestmark = [pytest.mark.scaleout, pytest.mark.slow]


def _assert_unavailable(response: requests.Response) -> None:
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "storage_unavailable"
    assert error["messages"]["vi"] and error["messages"]["en"]


def _until_ok(call: Callable[[], requests.Response], timeout: float = 20) -> requests.Response:
    """Retries `call` like a kiosk would until it succeeds (the engine is back)."""
    deadline = time.monotonic() + timeout
    while True:
        response = call()
        if response.status_code in (200, 201) or time.monotonic() > deadline:
            return response
        time.sleep(0.2)  # a kiosk's retry pause, not a synchronisation guess


def _check_nothing_lost(database_url: str, api: Api, acknowledged: list[dict]) -> None:
    for ticket in acknowledged:
        tracked = api.get(f"/tickets/{ticket['tracking_token']}")
        assert tracked.status_code == 200 and tracked.json()["display_number"] == ticket["display_number"]
    db = Database(load_settings(environ={}, database_url=database_url))
    with db.read() as session:
        numbers = sorted(session.exec(select(Ticket.number)).all())
    db.dispose()
    assert numbers == list(range(1001, 1001 + len(numbers)))
    assert len(numbers) == len(acknowledged)  # no ticket recorded behind a 503


def _behind_a_postgresql_proxy(scale_world, start_server, tcp_proxy) -> tuple[Any, Any, Api, Api, int]:
    """A server reaching PostgreSQL through a proxy the test cuts; a kiosk, and clerk1 at counter c1 (open)."""
    world = scale_world.world
    name = scale_world.database_url.rsplit("/", 1)[1]
    proxy = tcp_proxy(PG_PORT)
    server = start_server(pg_url(name, proxy.port), redis_url(scale_world.redis_number))
    kiosk, clerk = Api(server.url, world.kiosk_token), Api(server.url)
    clerk.token = clerk.login("clerk1")
    counter = world.counters["c1"]
    clerk.ok(f"/counters/{counter}/open")
    return proxy, server, kiosk, clerk, counter


def test_a_postgresql_outage_gives_503_and_service_resumes_by_itself(scale_world, start_server, tcp_proxy):
    proxy, server, kiosk, clerk, counter = _behind_a_postgresql_proxy(scale_world, start_server, tcp_proxy)
    acknowledged = [kiosk.ok("/tickets", {"service": "TP-A"}) for _ in range(3)]

    proxy.cut()
    _assert_unavailable(kiosk.post("/tickets", {"service": "TP-A"}))
    _assert_unavailable(clerk.post(f"/counters/{counter}/next"))
    assert requests.get(f"{server.url}/healthz", timeout=10).status_code == 503

    proxy.restore()
    resumed = _until_ok(lambda: kiosk.post("/tickets", {"service": "TP-A"}))
    assert resumed.status_code == 201, resumed.text
    acknowledged.append(resumed.json())
    assert clerk.ok(f"/counters/{counter}/next")["ticket"]["id"] == acknowledged[0]["id"]
    _check_nothing_lost(scale_world.database_url, kiosk, acknowledged)
    kiosk.close()
    clerk.close()


def test_a_redis_outage_gives_503_and_service_resumes_by_itself(scale_world, start_server, tcp_proxy):
    world = scale_world.world
    proxy = tcp_proxy(REDIS_PORT)
    server = start_server(scale_world.database_url, redis_url(scale_world.redis_number, proxy.port))
    kiosk, clerk = Api(server.url, world.kiosk_token), Api(server.url)
    clerk.token = clerk.login("clerk1")
    counter = world.counters["c1"]
    clerk.ok(f"/counters/{counter}/open")
    acknowledged = [kiosk.ok("/tickets", {"service": "TP-A"}) for _ in range(3)]
    board = Listener(server.url, {"token": world.board_token}, transports=["websocket"])
    try:
        epoch = board.next("snapshot")["epoch"]
        proxy.cut()
        _assert_unavailable(kiosk.post("/tickets", {"service": "TP-A"}))
        _assert_unavailable(clerk.post(f"/counters/{counter}/next"))

        proxy.restore()
        resumed = _until_ok(lambda: kiosk.post("/tickets", {"service": "TP-A"}))
        assert resumed.status_code == 201, resumed.text
        acknowledged.append(resumed.json())
        called = _until_ok(lambda: clerk.post(f"/counters/{counter}/next"))
        assert called.json()["ticket"]["id"] == acknowledged[0]["id"]
        # the board hears calls again once the server's queue listener has reconnected
        event = board.wait_for("ticket.called", lambda e: e["ticket"]["id"] == acknowledged[0]["id"], timeout=20)
        assert event["epoch"] == epoch  # Redis kept its data: the numbering goes on
    finally:
        board.close()
    _check_nothing_lost(scale_world.database_url, kiosk, acknowledged)
    kiosk.close()
    clerk.close()


def _assert_unconfirmed(response: requests.Response) -> None:
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "storage_unconfirmed"
    assert "may have been recorded" in error["messages"]["en"] and "có thể đã được ghi nhận" in error["messages"]["vi"]


def test_a_commit_whose_answer_is_lost_is_never_answered_nothing_was_recorded(scale_world, start_server, tcp_proxy):
    """PostgreSQL commits, then the connection breaks before the server hears so (the drills caught a kiosk told
    "nothing was recorded" for a ticket that was there). The answer is 503 `storage_unconfirmed`; the same tap
    again (its Idempotency-Key) gets that ticket, once; the call that went through is the counter's."""
    proxy, server, kiosk, clerk, counter = _behind_a_postgresql_proxy(scale_world, start_server, tcp_proxy)
    acknowledged = [kiosk.ok("/tickets", {"service": "TP-A"})]

    tap = {"Idempotency-Key": "lost-answer-1"}
    proxy.cut_after(b"COMMIT")
    _assert_unconfirmed(kiosk.post("/tickets", {"service": "TP-A"}, headers=tap))
    assert proxy.cut_done.is_set()
    proxy.restore()
    again = _until_ok(lambda: kiosk.post("/tickets", {"service": "TP-A"}, headers=tap))
    assert again.status_code == 200 and again.json()["repeated"] is True, again.text  # it was recorded
    third = kiosk.post("/tickets", {"service": "TP-A"}, headers=tap)
    assert (third.status_code, third.json()["id"]) == (200, again.json()["id"])
    acknowledged.append(again.json())

    proxy.cut_after(b"COMMIT")
    _assert_unconfirmed(clerk.post(f"/counters/{counter}/next"))
    proxy.restore()
    bearer = {"Authorization": f"Bearer {clerk.token}"}
    state = _until_ok(lambda: clerk.http.get(f"{server.url}/api/v1/counters/{counter}", headers=bearer, timeout=10))
    assert state.status_code == 200, state.text
    assert state.json()["counter"]["current"]["id"] == acknowledged[0]["id"], state.text  # the call went through
    clerk.ok(f"/counters/{counter}/start")
    clerk.ok(f"/counters/{counter}/finish")
    assert clerk.ok(f"/counters/{counter}/next")["ticket"]["id"] == acknowledged[1]["id"]  # nobody called twice
    _check_nothing_lost(scale_world.database_url, kiosk, acknowledged)

    proxy.cut_after(b"COMMIT")  # a write outside the queue's use cases: signing in records its token
    sign_in = {"username": "clerk2", "password": PASSWORD}
    _assert_unconfirmed(clerk.http.post(f"{server.url}/api/v1/auth/token", json=sign_in, timeout=10))
    proxy.restore()
    kiosk.close()
    clerk.close()


def _metrics(server: Any) -> str:
    response = requests.get(f"{server.url}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    return response.text


def test_metrics_answer_through_a_postgresql_outage_and_say_the_database_is_down(scale_world, start_server, tcp_proxy):
    """/metrics keeps its in-process counters (the outage's 503s among them) while PostgreSQL is away: the queue
    gauges read from the database are left out and luot_database_up says 0; all comes back with the engine."""
    world = scale_world.world
    name = scale_world.database_url.rsplit("/", 1)[1]
    proxy = tcp_proxy(PG_PORT)
    server = start_server(pg_url(name, proxy.port), redis_url(scale_world.redis_number), LUOT_METRICS="1")
    kiosk = Api(server.url, world.kiosk_token)
    kiosk.ok("/tickets", {"service": "TP-A"})
    before = _metrics(server)
    assert "luot_database_up 1.0" in before and 'luot_queue_waiting{service="TP-A"' in before

    proxy.cut()
    _assert_unavailable(kiosk.post("/tickets", {"service": "TP-A"}))
    during = _metrics(server)
    assert "luot_database_up 0.0" in during
    assert "luot_queue_waiting{" not in during and "luot_queue_longest_wait_seconds{" not in during
    assert 'route="/api/v1/tickets",status="503"} 1.0' in during
    assert "luot_socketio_connections" in during

    proxy.restore()
    assert _until_ok(lambda: kiosk.post("/tickets", {"service": "TP-A"})).status_code == 201
    after = _metrics(server)
    assert "luot_database_up 1.0" in after and 'luot_queue_waiting{service="TP-A"' in after
    log = server.log_path.read_text()
    assert log.count("reading the queue figures for /metrics failed") == 1
    assert log.count("reading the queue figures for /metrics works again") == 1
    assert log.count("the message worker's round failed") <= 1  # not a traceback a second
