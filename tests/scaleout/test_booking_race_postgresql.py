"""The last place of a slot on PostgreSQL with two server processes: 20 citizens book it at once (10 through
each process); exactly one booking is made, the others are told the slot is full."""

from __future__ import annotations

import threading
import time

import psycopg
import requests
from sqlmodel import select

from server.db import Database
from server.models import Service
from server.settings import load_settings
from tests.scaleout.conftest import redis_url
from tests.support.booking_world import OFFICE_HOURS, START, slot
from tests.support.citizen_cookies import citizen_cookie, instance_secret


def _bookable(database_url: str) -> None:
    db = Database(load_settings(environ={}, database_url=database_url))
    with db.write() as session:
        service = session.exec(select(Service).where(Service.code == "CA-X")).one()
        service.bookable, service.opening_hours, service.slot_capacity = True, OFFICE_HOURS, 1
        service.booking_cutoff_minutes = 0
        session.add(service)
    db.dispose()


def test_twenty_bookings_of_the_last_place_through_two_processes_on_postgresql(
    scale_world, start_server, shared_instance
):
    _bookable(scale_world.database_url)
    queue = redis_url(scale_world.redis_number)
    servers = [start_server(scale_world.database_url, queue, LUOT_CLOCK_START=START.isoformat()) for _ in range(2)]
    secret = instance_secret(load_settings(environ={}, instance_dir=str(shared_instance)))
    browsers = []
    for n in range(20):
        browser = requests.Session()
        browser.cookies.set("session", citizen_cookie(secret, f"+849060000{n:02d}"), domain="127.0.0.1")
        browser.get(f"{servers[n % 2].url}/book/HN/catalogue", timeout=10)
        browsers.append(browser)
    barrier = threading.Barrier(len(browsers))
    answers: list[requests.Response] = []
    lock = threading.Lock()

    def race(n: int) -> None:
        barrier.wait(timeout=10)
        answer = browsers[n].post(
            f"{servers[n % 2].url}/book/HN/bookings", json={"service": "CA-X", "slot": slot(9)}, timeout=30
        )
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(20)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    elapsed = time.perf_counter() - started
    assert sorted(a.status_code for a in answers) == [201] + [409] * 19, [a.text for a in answers]
    assert {a.json()["error"]["code"] for a in answers if a.status_code == 409} == {"slot_full"}
    dsn = scale_world.database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as connection:
        assert connection.execute("SELECT count(*) FROM appointment").fetchone() == (1,)
        assert connection.execute("SELECT booked FROM bookingslot").fetchall() == [(1,)]
    print(f"PostgreSQL, 2 processes: 20 bookings of the last place, 1 won, 19 refused in {elapsed * 1000:.0f} ms")
