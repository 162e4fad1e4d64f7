"""A booking made through a real server reaches the citizen: the confirmation, the change and the cancellation
each arrive once at a real local HTTP server standing in for the SMS gateway, carrying the booking code
(issue 18: "book a slot, receive the confirmation")."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from server.db import Database
from server.process import ServerProcess
from tests.support.booking_world import START, build_booking_world, slot
from tests.support.citizen_cookies import citizen_cookie, instance_secret
from tests.support.citizens import set_messaging
from tests.support.gateway import Gateway
from tests.support.world import World

pytestmark = pytest.mark.slow

PHONE = "+84912345678"


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    stand_in = Gateway()
    yield stand_in
    stand_in.close()


def test_the_confirmation_change_and_cancellation_reach_the_citizen_once_each(tmp_path: Path, gateway: Gateway):
    def populate(db: Database) -> World:
        world = build_booking_world(db)
        set_messaging(
            db,
            world.site_id,
            {
                "retry_seconds": 1,
                "max_attempts": 3,
                "timeout_seconds": 2,
                "sms": {"url": f"{gateway.url}/sms", "body": '{"to": "{phone}", "text": "{text}", "ref": "{id}"}'},
            },
        )
        return world

    server = ServerProcess(tmp_path / "instance", env={"LUOT_CLOCK_START": START.isoformat()})
    server.prepare(populate)
    server.start()
    try:
        browser = requests.Session()
        browser.cookies.set("session", citizen_cookie(instance_secret(server.settings()), PHONE), domain="127.0.0.1")
        made = browser.post(f"{server.url}/book/HN/bookings", json={"service": "TP-A", "slot": slot(9, 0)}, timeout=10)
        assert made.status_code == 201, made.text
        code, link = made.json()["booking"]["code"], f"{server.url}/book/HN/b/{made.json()['secret']}"

        (confirmed,) = gateway.wait_for(1, path="/sms")
        assert confirmed.json()["to"] in (PHONE, PHONE.lstrip("+")) and code in confirmed.json()["text"]
        assert requests.post(f"{link}/move", json={"slot": slot(9, 15)}, timeout=10).status_code == 200
        changed = gateway.wait_for(2, path="/sms")[1]
        assert code in changed.json()["text"] and "09:15" in changed.json()["text"]
        assert requests.post(f"{link}/cancel", json={}, timeout=10).status_code == 200
        cancelled = gateway.wait_for(3, path="/sms")[2]
        assert code in cancelled.json()["text"]
        references = [r.json()["ref"] for r in gateway.matching("/sms")]
        assert len(references) == len(set(references)) == 3  # each message sent once
    finally:
        server.stop()
