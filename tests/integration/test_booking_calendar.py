"""The booking's calendar file over its life: the same UID throughout, SEQUENCE growing with each change (so a
calendar importing it again replaces the old time), STATUS:CANCELLED once cancelled."""

from __future__ import annotations

from datetime import datetime, timedelta

from server.clock import LOCAL_TZ
from tests.integration.test_booking_admin import make_bookable


def at(hour, minute=0, day=18):
    return datetime(2026, 11, day, hour, minute, tzinfo=LOCAL_TZ)


def fields(client, link: str) -> dict[str, str]:
    answer = client.get(f"{link}/booking.ics")
    assert answer.status_code == 200 and answer.mimetype == "text/calendar"
    lines = answer.get_data(as_text=True).replace("\r\n ", "").split("\r\n")
    event = lines[lines.index("BEGIN:VEVENT") + 1 : lines.index("END:VEVENT")]
    return dict(line.split(":", 1) for line in event)


def test_the_calendar_file_follows_a_move_and_a_cancellation(client, luot, world, clock):
    make_bookable(luot, world)
    clock.set(at(8))
    with client.session_transaction() as browser:
        browser["citizen"] = {"key": "c" * 64, "kind": "phone", "phone": "+84912345678", "name": "", "exp": 4e9}
    made = client.post("/book/HN/bookings", json={"service": "TP-A", "slot": at(9).isoformat()})
    assert made.status_code == 201, made.get_json()
    link = f"/book/HN/b/{made.get_json()['secret']}"
    booked = fields(client, link)
    assert booked["STATUS"] == "CONFIRMED" and booked["DTSTART;TZID=Asia/Ho_Chi_Minh"] == "20261118T090000"

    clock.set(at(8) + timedelta(minutes=2))
    assert client.post(f"{link}/move", json={"slot": at(9, 30).isoformat()}).status_code == 200
    moved = fields(client, link)
    assert moved["UID"] == booked["UID"] and moved["DTSTART;TZID=Asia/Ho_Chi_Minh"] == "20261118T093000"
    assert int(moved["SEQUENCE"]) > int(booked["SEQUENCE"])

    clock.set(at(8) + timedelta(minutes=3))
    assert client.post(f"{link}/cancel", json={}).status_code == 200
    cancelled = fields(client, link)
    assert cancelled["UID"] == booked["UID"] and cancelled["STATUS"] == "CANCELLED"
    assert int(cancelled["SEQUENCE"]) > int(moved["SEQUENCE"])


def test_a_slot_too_far_ahead_is_refused_as_too_far_in_both_languages(client, luot, world, clock):
    make_bookable(luot, world)
    clock.set(at(8))
    with client.session_transaction() as browser:
        browser["citizen"] = {"key": "d" * 64, "kind": "phone", "phone": "+84912345679", "name": "", "exp": 4e9}
    far = client.post("/book/HN/bookings", json={"service": "TP-A", "slot": (at(9) + timedelta(days=14)).isoformat()})
    error = far.get_json()["error"]
    assert far.status_code == 409 and error["code"] == "booking_too_far"
    assert "7 ngày tới" in error["messages"]["vi"] and "next 7 days" in error["messages"]["en"]
