"""A booking made through a real server reaches the citizen: the confirmation, the change and the cancellation
each arrive once at a real local HTTP server standing in for the SMS gateway, carrying the booking code
(issue 18: "book a slot, receive the confirmation")."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


@contextmanager
def signed_in_citizen(
    tmp_path: Path, populate: Callable[[Database], World]
) -> Iterator[tuple[ServerProcess, requests.Session]]:
    """A real server on `populate`'s world at START, and a citizen's browser signed in with PHONE."""
    server = ServerProcess(tmp_path / "instance", env={"LUOT_CLOCK_START": START.isoformat()})
    server.prepare(populate)
    server.start()
    try:
        browser = requests.Session()
        browser.cookies.set("session", citizen_cookie(instance_secret(server.settings()), PHONE), domain="127.0.0.1")
        yield server, browser
    finally:
        server.stop()


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

    with signed_in_citizen(tmp_path, populate) as (server, browser):
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


def test_one_booking_texts_its_phone_a_bounded_number_of_times_however_often_its_link_moves_it(
    tmp_path: Path, gateway: Gateway
):
    """The outside tester's defect 6: each move of one booking texted its contact, with no cap (31 texts from one
    booking, ~450 possible in 7 days). Now its link moves it MAX_LINK_MOVES times, then 409 `too_many_moves`,
    and the gateway receives the confirmation, one change message per accepted move and the cancellation: no
    more. A citizen's booking cannot name a stranger's phone (400 `contact_not_verified`), so these texts go to
    the phone the citizen proved."""
    from server.domain.booking_rules import MAX_LINK_MOVES

    def populate(db: Database) -> World:
        world = build_booking_world(db)
        set_messaging(db, world.site_id, {"sms": {"url": f"{gateway.url}/sms", "body": '{"to": "{phone}"}'}})
        return world

    with signed_in_citizen(tmp_path, populate) as (server, browser):
        stranger = {"service": "TP-A", "slot": slot(9, 0), "contact": "0987654321"}
        refused = browser.post(f"{server.url}/book/HN/bookings", json=stranger, timeout=10)
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "contact_not_verified"
        made = browser.post(f"{server.url}/book/HN/bookings", json={"service": "TP-A", "slot": slot(9, 0)}, timeout=10)
        assert made.status_code == 201, made.text
        link = f"{server.url}/book/HN/b/{made.json()['secret']}"
        answers = [
            requests.post(f"{link}/move", json={"slot": slot(hour, minute)}, timeout=10)
            for hour in (9, 10, 14)
            for minute in (15, 30, 45)
        ]
        assert [a.status_code for a in answers] == [200] * MAX_LINK_MOVES + [409] * (9 - MAX_LINK_MOVES)
        assert {a.json()["error"]["code"] for a in answers[MAX_LINK_MOVES:]} == {"too_many_moves"}
        assert requests.post(f"{link}/cancel", json={}, timeout=10).status_code == 200
        expected = 1 + MAX_LINK_MOVES + 1
        gateway.wait_for(expected, path="/sms")  # the cancellation, queued last, is sent after any change message
        with sqlite3.connect(server.instance_dir / "luot.sqlite3") as db:
            queued = [row[0] for row in db.execute("SELECT kind FROM outboxmessage ORDER BY id")]
        assert queued == ["booking_confirmed"] + ["booking_changed"] * MAX_LINK_MOVES + ["booking_cancelled"]
        texts = gateway.matching("/sms")
        assert len(texts) == expected and {t.json()["to"].lstrip("+") for t in texts} == {PHONE.lstrip("+")}
