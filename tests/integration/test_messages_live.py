"""Messages through a real `luot serve` (eventlet): tickets issued and called through the REST API by a real
clerk, the citizen's request made on the tracking page's form, the worker sending to a real local HTTP server
standing in for Zalo ZNS and the SMS gateway."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlmodel import select

from server.db import Database
from server.models import OutboxMessage
from server.process import ServerProcess
from tests.integration._live import Api
from tests.support.citizens import set_messaging
from tests.support.gateway import Gateway
from tests.support.world import World, build_world

pytestmark = pytest.mark.slow


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    stand_in = Gateway()
    yield stand_in
    stand_in.close()


def start_server(tmp_path: Path, gateway: Gateway, timeout_seconds: int = 2) -> tuple[ServerProcess, World]:
    def populate(db: Database) -> World:
        world = build_world(db)
        set_messaging(
            db,
            world.site_id,
            {
                "retry_seconds": 1,
                "max_attempts": 5,
                "timeout_seconds": timeout_seconds,
                "zalo": {"url": f"{gateway.url}/zns", "access_token": "zalo-secret", "templates": {"near_turn": "111"}},
                "sms": {"url": f"{gateway.url}/sms", "body": '{"to": "{phone}", "text": "{text}", "ref": "{id}"}'},
            },
        )
        return world

    server = ServerProcess(tmp_path / "instance", async_mode="eventlet")
    world = server.prepare(populate)
    assert isinstance(world, World)
    server.start()
    return server, world


def outbox(server: ServerProcess) -> list[OutboxMessage]:
    db = Database(server.settings())
    try:
        with db.read() as session:
            return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())
    finally:
        db.dispose()


def serve_next(api: Api, token: str, counter_id: int) -> dict:
    called = api.ok(f"/counters/{counter_id}/next", token=token)
    api.ok(f"/counters/{counter_id}/start", token=token)
    return called


def test_near_turn_and_called_are_sent_once_each_and_a_failing_gateway_is_retried(tmp_path: Path, gateway: Gateway):
    server, world = start_server(tmp_path, gateway)
    kiosk = Api(server.url, world.kiosk_token)
    try:
        clerk = kiosk.login("clerk2")  # counter 2 serves TP-A only
        tickets = [kiosk.ok("/tickets", {"service": "TP-A"}) for _ in range(6)]
        watched = tickets[5]
        form = requests.post(
            f"{server.url}/t/{watched['tracking_token']}/notify",
            data={"address": "0912 345 678", "near_turn": "1", "called": "1", "consent": "1"},
            allow_redirects=False,
            timeout=10,
        )
        assert form.status_code == 302, form.text
        gateway.fail_next(2, status=500)
        kiosk.ok(f"/counters/{world.counters['c2']}/open", token=clerk)
        serve_next(kiosk, clerk, world.counters["c2"])  # 4 ahead
        serve_next(kiosk, clerk, world.counters["c2"])  # 3 ahead: the near-turn message
        zns = gateway.wait_for(3, path="/zns")  # 500, 500, then delivered (back-off 1 s, 2 s)
        assert [r.status for r in zns] == [500, 500, 200]
        assert {r.json()["tracking_id"] for r in zns} == {f"{watched['id']}:near"}
        assert zns[2].json()["template_data"]["ahead"] == "3"
        for _ in range(3):  # 2, 1, 0 ahead
            serve_next(kiosk, clerk, world.counters["c2"])
        called = kiosk.ok(f"/counters/{world.counters['c2']}/next", token=clerk)
        called_at = time.monotonic()
        assert called["ticket"]["id"] == watched["id"]
        kiosk.ok(f"/counters/{world.counters['c2']}/recall", token=clerk)
        (sms,) = gateway.wait_for(1, path="/sms")
        print(f"call → SMS at the gateway: {(time.monotonic() - called_at) * 1000:.0f} ms")
        assert sms.json() == {
            "to": "+84912345678",
            "text": f"Moi cong dan co so {watched['display_number']} den quay 2.",
            "ref": f"{watched['id']}:called",
        }
        kiosk.ok(f"/counters/{world.counters['c2']}/start", token=clerk)
        kiosk.ok(f"/counters/{world.counters['c2']}/finish", token=clerk)
        manager = kiosk.login("manager")
        health = kiosk.http.get(
            f"{server.url}/dashboard/api/messages?site={world.site_id}",
            headers={"Authorization": f"Bearer {manager}"},
            timeout=10,
        ).json()
    finally:
        kiosk.close()
        server.stop()
    rows = outbox(server)
    assert [(r.kind, r.channel, r.status, r.attempts) for r in rows] == [
        ("near_turn", "zalo", "sent", 3),
        ("called", "sms", "sent", 1),
    ]
    assert len(gateway.requests) == 4  # 3 ZNS tries (2 refused) + 1 SMS: each message delivered once
    assert {r.address for r in rows} == {"+8491•••••78"}  # sent: the number is no longer kept in clear
    assert health["counts"] == {"queued": 0, "sending": 0, "sent": 2, "failed": 0}


def test_a_hung_gateway_never_slows_issuing_or_calling(tmp_path: Path, gateway: Gateway):
    server, world = start_server(tmp_path, gateway, timeout_seconds=20)
    api = Api(server.url, world.kiosk_token)
    timings: list[float] = []
    try:
        clerk = api.login("clerk2")
        first = api.ok("/tickets", {"service": "TP-A"})
        requests.post(
            f"{server.url}/t/{first['tracking_token']}/notify",
            data={"address": "0912345678", "near_turn": "1", "called": "1", "consent": "1"},
            allow_redirects=False,
            timeout=10,
        ).raise_for_status()
        gateway.hold_next(1)
        api.ok(f"/counters/{world.counters['c2']}/open", token=clerk)
        gateway.wait_arrived(1)  # the worker now waits on the gateway (near-turn: 0 ahead, a counter open)
        for _ in range(10):
            started = time.monotonic()
            api.ok("/tickets", {"service": "TP-A"})
            serve_next(api, clerk, world.counters["c2"])
            timings.append(time.monotonic() - started)
        assert gateway.arrived == 1  # still held: the worker is stuck in its send, the requests were not
        gateway.release()
        gateway.wait_for(2)  # then the called message goes out
    finally:
        gateway.release()
        api.close()
        server.stop()
    print(
        f"issue + next + start with a hung gateway: max {max(timings) * 1000:.0f} ms, mean "
        f"{sum(timings) / len(timings) * 1000:.0f} ms"
    )
    assert max(timings) < 1.0, timings
