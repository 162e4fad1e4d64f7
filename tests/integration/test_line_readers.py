"""Every reader of the line tells the projection's truth as the line changes (issue 12): a phone is told when a
priority arrival moves it back, when its only counter pauses (no minutes promised) and resumes; at 00:00 local
yesterday's tickets read as cancelled (`day_closed`) for the public status, the console, the board and the
figures — before any day-close pass has written them."""

from __future__ import annotations

from datetime import datetime

import pytest

from server.clock import LOCAL_TZ
from server.domain.queueing import issue_ticket, open_counter, pause_counter, resume_counter
from server.snapshots import site_snapshot
from tests.support.api import bearer, staff_token
from tests.support.sockets import receive_until


@pytest.fixture
def connect(app, socketio):
    clients = []

    def _connect(auth):
        client = socketio.test_client(app, auth=auth)
        clients.append(client)
        return client

    yield _connect
    for client in clients:
        if client.is_connected():
            client.disconnect()


def progress(messages: list[dict]) -> list[dict]:
    return [m["args"][0] for m in messages if m["name"] == "ticket.progress"]


def progress_where(check):
    """`done` for receive_until: a `ticket.progress` arrived whose figures pass `check`."""
    return lambda messages: any(check(p) for p in progress(messages))


def issue(luot, world, service="TP-A", priority=""):
    return luot.run(issue_ticket, site_id=world.site_id, service_code=service, priority=priority).ticket


def test_a_priority_arrival_moves_people_back_and_their_phones_are_told(connect, luot, world):
    luot.run(open_counter, world.counters["c2"], world.users["clerk2"])  # counter 2 serves TP-A only
    first = issue(luot, world)
    second = issue(luot, world)
    phone = connect({"tracking_token": second.tracking_token})
    receive_until(phone, progress_where(lambda p: p["waiting_ahead"] == 1))
    issue(luot, world, priority="elderly")  # called before both of them
    moved = receive_until(phone, progress_where(lambda p: p["waiting_ahead"] == 2))
    last = progress(moved)[-1]
    assert last["ticket"]["id"] == second.id and last["estimated_wait_minutes"] >= 1
    first_phone = connect({"tracking_token": first.tracking_token})
    receive_until(first_phone, progress_where(lambda p: p["waiting_ahead"] == 1))


def test_pausing_the_only_counter_takes_the_minutes_away_and_resuming_gives_them_back(connect, luot, world, client):
    luot.run(open_counter, world.counters["c2"], world.users["clerk2"])
    mine = issue(luot, world, "TP-A")
    phone = connect({"tracking_token": mine.tracking_token})
    receive_until(phone, progress_where(lambda p: p["estimated_wait_minutes"] is not None))
    luot.run(pause_counter, world.counters["c2"], world.users["clerk2"], reason="họp")
    receive_until(phone, progress_where(lambda p: p["no_counter_open"] and p["estimated_wait_minutes"] is None))
    public = client.get(f"/api/v1/tickets/{mine.tracking_token}").get_json()
    assert public["no_counter_open"] is True and public["estimated_wait_minutes"] is None
    luot.run(resume_counter, world.counters["c2"], world.users["clerk2"])
    receive_until(phone, progress_where(lambda p: not p["no_counter_open"] and p["estimated_wait_minutes"] >= 0))
    assert client.get(f"/api/v1/tickets/{mine.tracking_token}").get_json()["no_counter_open"] is False


def test_at_local_midnight_yesterdays_tickets_are_cancelled_for_every_reader(luot, world, client, clock):
    clock.set(datetime(2026, 11, 18, 23, 50, tzinfo=LOCAL_TZ))
    luot.run(open_counter, world.counters["c1"], world.users["clerk1"])
    late = issue(luot, world, "TP-A")
    token = staff_token(client, "clerk1")
    assert client.get(f"/api/v1/tickets/{late.tracking_token}").get_json()["status"] == "waiting"

    clock.set(datetime(2026, 11, 18, 23, 59, 59, tzinfo=LOCAL_TZ))  # one second before: still today's line
    counter = client.get(f"/api/v1/counters/{world.counters['c1']}", headers=bearer(token)).get_json()["counter"]
    assert [t["id"] for t in counter["waiting"]] == [late.id]

    clock.set(datetime(2026, 11, 19, 0, 0, tzinfo=LOCAL_TZ))  # 00:00 local; no day-close pass has run
    public = client.get(f"/api/v1/tickets/{late.tracking_token}").get_json()
    assert public["status"] == "cancelled" and public["cancel_reason"] == "day_closed"
    assert public["waiting_ahead"] == 0 and public["estimated_wait_minutes"] is None
    counter = client.get(f"/api/v1/counters/{world.counters['c1']}", headers=bearer(token)).get_json()["counter"]
    assert counter["waiting"] == []  # the console
    now = clock.now()
    board = site_snapshot(luot.lines.site(world.site_id, now), luot.lines.catalogue(world.site_id), now)
    tp_a_id = next(s["id"] for s in board["services"] if s["code"] == "TP-A")
    assert next(q for q in board["queues"] if q["service_id"] == tp_a_id)["waiting"] == 0  # the board's counts
    services = client.get("/api/v1/services?site=HN").get_json()
    tp_a = next(s for a in services["agencies"] for s in a["services"] if s["code"] == "TP-A")
    assert tp_a["waiting"] == 0
    clock.advance(minutes=1)
    assert client.get(f"/api/v1/tickets/{late.tracking_token}").get_json()["status"] == "cancelled"
