"""Booked slots and online numbers through a real server process (eventlet, a real SQLite file, its clock
started at Wednesday 08:00 in Hà Nội): book, check in at the kiosk by the booking's QR code and by the ID
card's QR text, called inside the window before ordinary tickets; a no-show booking lapses; 20 concurrent
bookings of the last place: exactly one wins; an online number for today is called in its place."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from server.process import ServerProcess
from tests.integration._live import Api
from tests.support.booking_world import START, build_booking_world, slot
from tests.support.citizen_cookies import citizen_cookie, instance_secret
from tests.support.world import World

CARD_TEXT = "001099012345|123456789|Nguyễn Văn A|01011990|Nam|Số 1 Phố X, Hà Nội|15082021"


class Live:
    def __init__(self, server: ServerProcess, world: World) -> None:
        self.server = server
        self.world = world
        self.url = server.url
        self.secret = instance_secret(server.settings())
        self.kiosk = Api(server.url, world.kiosk_token)
        self.staff = Api(server.url)
        self.staff.token = self.staff.login("clerk2")

    def citizen(self, phone: str) -> requests.Session:
        browser = requests.Session()
        browser.cookies.set("session", citizen_cookie(self.secret, phone), domain="127.0.0.1")
        return browser

    def book(self, browser: requests.Session, at: str, service: str = "TP-A", **extra: object) -> requests.Response:
        return browser.post(f"{self.url}/book/HN/bookings", json={"service": service, "slot": at, **extra}, timeout=10)

    def call_next(self, counter: str) -> dict:
        """Call the next citizen and start serving them (the next call finishes them)."""
        ticket = self.staff.ok(f"/counters/{self.world.counters[counter]}/next")["ticket"]
        self.staff.ok(f"/counters/{self.world.counters[counter]}/start")
        return ticket

    def database(self) -> Path:
        return self.server.instance_dir / "luot.sqlite3"


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    server = ServerProcess(tmp_path / "instance", env={"LUOT_CLOCK_START": START.isoformat()})
    world = server.prepare(build_booking_world)
    server.start()
    try:
        yield Live(server, world)  # type: ignore[arg-type]
    finally:
        server.stop()


def test_a_booking_checked_in_by_qr_code_and_by_id_card_is_called_before_ordinary_tickets(live):
    anna, binh, chi = live.citizen("+84901000001"), live.citizen("+84901000002"), live.citizen("+84901000003")
    first = live.book(anna, slot(8, 15))
    assert first.status_code == 201, first.text
    booking = first.json()
    code = booking["booking"]["code"]
    assert booking["booking"]["status"] == "booked" and booking["link"].endswith(f"/book/HN/m/{booking['secret']}")
    qr = requests.get(f"{live.url}/book/HN/b/{booking['secret']}/qr.svg", timeout=10)
    assert qr.status_code == 200 and qr.headers["Content-Type"].startswith("image/svg+xml")
    by_card = live.book(binh, slot(8, 30), card="0010 9901 2345")
    assert by_card.status_code == 201, by_card.text
    late = live.book(chi, slot(10, 0))  # its window opens at 09:30: checked in now it is an ordinary ticket
    assert late.status_code == 201
    walk_ins = [live.kiosk.ok("/tickets", {"service": "TP-A"})["display_number"] for _ in range(2)]

    booked = live.kiosk.ok("/tickets", {"appointment": code.lower()})  # the scanner may type lower case
    carded = live.kiosk.ok("/tickets", {"card": CARD_TEXT})
    early = live.kiosk.ok("/tickets", {"appointment": late.json()["booking"]["code"]})
    again = live.kiosk.post("/tickets", {"appointment": code})
    assert again.status_code == 409 and again.json()["error"]["code"] == "appointment_used"
    card_again = live.kiosk.post("/tickets", {"card": CARD_TEXT})  # as by the code: not "no appointment today"
    assert card_again.status_code == 409 and card_again.json()["error"]["code"] == "appointment_used"
    unknown = live.kiosk.post("/tickets", {"card": CARD_TEXT.replace("001099012345", "001099099999")})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_appointment"
    malformed = live.kiosk.post("/tickets", {"card": "001099012345|12|x"})
    assert malformed.status_code == 400 and set(malformed.json()["error"]["messages"]) == {"vi", "en"}

    live.staff.ok(f"/counters/{live.world.counters['c2']}/open")
    called = [live.call_next("c2")["display_number"] for _ in range(5)]
    assert called == [booked["display_number"], carded["display_number"], *walk_ins, early["display_number"]]
    with sqlite3.connect(live.database()) as db:
        statuses = dict(db.execute("SELECT code, status FROM appointment").fetchall())
        issued = db.execute(
            "SELECT t.appointment_at, e.data FROM ticket t JOIN ticketevent e ON e.ticket_id = t.id "
            "WHERE e.kind = 'issued' AND t.display_number = ?",
            (early["display_number"],),
        ).fetchone()
    assert set(statuses.values()) == {"checked_in"}
    assert issued[0] is None and '"booked_for": "2026-11-18T03:00:00+00:00"' in issued[1]  # the original time


def test_a_booking_not_checked_in_lapses_and_the_kiosk_refuses_it(tmp_path):
    secret_link = "lapse-test-secret"
    server = ServerProcess(tmp_path / "instance", env={"LUOT_CLOCK_START": START.isoformat()})
    world = server.prepare(build_booking_world)
    with sqlite3.connect(server.instance_dir / "luot.sqlite3") as db:
        service_id = db.execute(
            "SELECT id FROM service WHERE code = 'TP-A' AND site_id = ?", (world.site_id,)
        ).fetchone()[0]
        slot_at = (START - timedelta(minutes=75)).astimezone(UTC).replace(tzinfo=None)  # 06:45: lapsed at 07:45
        db.execute(
            "INSERT INTO appointment (site_id, service_id, code, slot_at, status, manage_hash, channel, language) "
            "VALUES (?, ?, 'LAPSE234', ?, 'booked', ?, 'online', 'vi')",
            (world.site_id, service_id, slot_at.isoformat(" "), hashlib.sha256(secret_link.encode()).hexdigest()),
        )
    server.start()
    try:
        kiosk = Api(server.url, world.kiosk_token)
        refused = kiosk.post("/tickets", {"appointment": "LAPSE234"})
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "booking_lapsed"
        assert "hết hiệu lực" in refused.json()["error"]["messages"]["vi"]
        shown = requests.get(f"{server.url}/book/HN/b/{secret_link}", timeout=10).json()["booking"]
        assert shown["status"] == "lapsed" and not shown["changeable"]
        deadline = time.monotonic() + 20  # the sweep runs when the server starts, then every minute
        status = None
        while time.monotonic() < deadline:
            with sqlite3.connect(server.instance_dir / "luot.sqlite3") as db:
                status = db.execute("SELECT status FROM appointment WHERE code = 'LAPSE234'").fetchone()[0]
            if status == "lapsed":
                break
            time.sleep(0.1)  # polling the file the server writes, bounded by the deadline
        assert status == "lapsed"
    finally:
        server.stop()


def test_twenty_concurrent_bookings_of_the_last_place_exactly_one_wins(live):
    citizens = [live.citizen(f"+849020000{n:02d}") for n in range(20)]
    for browser in citizens:  # keep-alive connections opened before the race
        browser.get(f"{live.url}/book/HN/catalogue", timeout=10)
    barrier = threading.Barrier(len(citizens))
    answers: list[requests.Response] = []
    lock = threading.Lock()

    def race(browser: requests.Session) -> None:
        barrier.wait(timeout=10)
        answer = live.book(browser, slot(9, 0), service="CA-X")
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=race, args=(browser,)) for browser in citizens]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    elapsed = time.perf_counter() - started
    codes = sorted(answer.status_code for answer in answers)
    assert codes == [201] + [409] * 19, [a.text for a in answers if a.status_code not in (201, 409)]
    assert {a.json()["error"]["code"] for a in answers if a.status_code == 409} == {"slot_full"}
    with sqlite3.connect(live.database()) as db:
        assert db.execute("SELECT count(*) FROM appointment").fetchone()[0] == 1
        assert db.execute("SELECT booked FROM bookingslot").fetchall() == [(1,)]
    slots = requests.get(f"{live.url}/book/HN/slots?service=CA-X&date=2026-11-18", timeout=10).json()["slots"]
    assert next(s for s in slots if s["time"] == "09:00")["remaining"] == 0
    print(f"20 concurrent bookings of the last place: 1 won, 19 refused in {elapsed * 1000:.0f} ms")


def test_cancel_frees_the_place_and_move_keeps_the_code(live):
    anna, binh = live.citizen("+84903000001"), live.citizen("+84903000002")
    first = live.book(anna, slot(9, 0), service="CA-X").json()
    assert live.book(binh, slot(9, 0), service="CA-X").json()["error"]["code"] == "slot_full"
    link = f"{live.url}/book/HN/b/{first['secret']}"
    moved = requests.post(f"{link}/move", json={"slot": slot(9, 15)}, timeout=10).json()["booking"]
    assert moved["time"] == "09:15" and moved["code"] == first["booking"]["code"]
    assert live.book(binh, slot(9, 0), service="CA-X").status_code == 201  # the old place is free again
    cancelled = requests.post(f"{link}/cancel", json={}, timeout=10).json()["booking"]
    assert cancelled["status"] == "cancelled" and not cancelled["changeable"]
    assert requests.post(f"{link}/cancel", json={}, timeout=10).json()["error"]["code"] == "booking_not_changeable"
    assert live.book(anna, slot(9, 15), service="CA-X").status_code == 201
    ics = requests.get(f"{link}/booking.ics", timeout=10)
    assert (
        ics.headers["Content-Type"].startswith("text/calendar")
        and "DTSTART;TZID=Asia/Ho_Chi_Minh:20261118T091500" in ics.text
    )
    assert requests.get(f"{live.url}/book/HN/b/not-a-secret", timeout=10).status_code == 404


def test_booking_needs_an_identified_citizen_or_staff(live):
    anonymous = requests.post(f"{live.url}/book/HN/bookings", json={"service": "TP-A", "slot": slot(9)}, timeout=10)
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "identify_first"
    staff = live.staff.http.post(
        f"{live.url}/book/HN/bookings",
        json={"service": "TP-A", "slot": slot(9), "card": "001099012345"},
        headers={"Authorization": f"Bearer {live.staff.token}"},
        timeout=10,
    )
    assert staff.status_code == 201, staff.text
    day = live.staff.http.get(
        f"{live.url}/book/HN/staff/day?date=2026-11-18",
        headers={"Authorization": f"Bearer {live.staff.token}"},
        timeout=10,
    ).json()
    assert [(g["service"], [b["time"] for b in g["bookings"]]) for g in day["services"]] == [("TP-A", ["09:00"])]
    anna = live.citizen("+84904000001")
    assert live.book(anna, slot(9, 15)).status_code == 201
    twice = live.book(anna, slot(9, 30))
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "person_service_limit"
    past = live.book(anna, slot(7, 45), service="CA-X")
    assert past.json()["error"]["code"] == "booking_closed"
    off = live.book(anna, slot(9, 7), service="CA-X")
    assert off.json()["error"]["code"] == "unknown_slot"


def test_an_online_number_for_today_is_called_in_its_place_in_the_line(live):
    walk_ins = [live.kiosk.ok("/tickets", {"service": "TP-A"})["display_number"] for _ in range(2)]
    anna = live.citizen("+84905000001")
    answer = anna.post(f"{live.url}/book/HN/online", json={"service": "TP-A"}, timeout=10)
    assert answer.status_code == 201, answer.text
    online = answer.json()
    assert online["waiting_ahead"] == 2 and online["tracking_url"].endswith(online["tracking_token"])
    last = live.kiosk.ok("/tickets", {"service": "TP-A"})["display_number"]
    tracked = requests.get(f"{live.url}/api/v1/tickets/{online['tracking_token']}", timeout=10).json()
    assert tracked["waiting_ahead"] == 2
    assert requests.get(f"{live.url}/t/{online['tracking_token']}", timeout=10).status_code == 200
    refused = anna.post(f"{live.url}/book/HN/online", json={"service": "CA-X"}, timeout=10)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "no_online_numbers"
    live.staff.ok(f"/counters/{live.world.counters['c2']}/open")
    called = [live.call_next("c2")["display_number"] for _ in range(4)]
    assert called == [*walk_ins, online["display_number"], last]
    with sqlite3.connect(live.database()) as db:
        row = db.execute("SELECT channel, person_key FROM ticket WHERE display_number = ?", (online["display_number"],))
        channel, key = row.fetchone()
    assert channel == "online" and key and len(key) == 64
    assert datetime.fromisoformat(online["issued_at"]) >= START


def test_per_person_limits_hold_across_bookings_online_numbers_and_the_kiosk(live):
    """One service a day per person, whichever way the number came: a booking, then an online number of the same
    service is refused; checked in at the kiosk the booking counts once (as its ticket), still refusing it."""
    anna = live.citizen("+84906000001")
    booked = live.book(anna, slot(9, 0))
    assert booked.status_code == 201, booked.text
    online = anna.post(f"{live.url}/book/HN/online", json={"service": "TP-A"}, timeout=10)
    assert online.status_code == 409 and online.json()["error"]["code"] == "person_service_limit"
    code = booked.json()["booking"]["code"]
    checked_in = live.kiosk.ok("/tickets", {"appointment": code})
    with sqlite3.connect(live.database()) as db:
        row = db.execute("SELECT channel FROM ticket WHERE display_number = ?", (checked_in["display_number"],))
        assert row.fetchone() == ("appointment",)
    again = anna.post(f"{live.url}/book/HN/online", json={"service": "TP-A"}, timeout=10)
    assert again.status_code == 409 and again.json()["error"]["code"] == "person_service_limit"
    other = live.citizen("+84906000002")  # another person is not held by Anna's numbers
    assert other.post(f"{live.url}/book/HN/online", json={"service": "TP-A"}, timeout=10).status_code == 201
    with sqlite3.connect(live.database()) as db:
        keys = db.execute("SELECT person_key FROM ticket WHERE person_key IS NOT NULL").fetchall()
    assert len(keys) == 2 and len(set(keys)) == 2
