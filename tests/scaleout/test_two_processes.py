"""Two `luot serve` processes on different ports share one PostgreSQL database and one Redis queue."""

from __future__ import annotations

import threading
from collections import Counter as Tally

import pytest
from sqlmodel import select

from server.db import Database
from server.models import Ticket
from server.settings import load_settings
from tests.integration._live import Api, Listener
from tests.scaleout.conftest import redis_url

pytestmark = [pytest.mark.scaleout, pytest.mark.slow]


def test_a_ticket_issued_on_one_process_and_called_on_the_other_reaches_board_and_phone(scale_world, start_server):
    world = scale_world.world
    queue = redis_url(scale_world.redis_number)
    a = start_server(scale_world.database_url, queue)
    b = start_server(scale_world.database_url, queue)
    kiosk_a, clerk_b = Api(a.url, world.kiosk_token), Api(b.url)
    board = phone = None
    try:
        board = Listener(a.url, {"token": world.board_token}, transports=["websocket"])
        board_snapshot = board.next("snapshot")
        board_seq = board_snapshot["seq"]
        ticket = kiosk_a.ok("/tickets", {"service": "TP-A"})
        phone = Listener(b.url, {"tracking_token": ticket["tracking_token"]}, transports=["websocket"])
        assert phone.next("snapshot")["ticket"]["display_number"] == ticket["display_number"]
        clerk_b.token = clerk_b.login("clerk2")
        counter = world.counters["c2"]
        clerk_b.ok(f"/counters/{counter}/open")
        called = clerk_b.ok(f"/counters/{counter}/next")
        assert called["ticket"]["id"] == ticket["id"]

        def same_ticket(event: dict) -> bool:
            return event["ticket"]["id"] == ticket["id"]

        on_board = board.wait_for("ticket.called", same_ticket)
        on_phone = phone.wait_for("ticket.called", same_ticket)
        assert on_board["counter"]["number"] == on_phone["counter"]["number"] == 2
        assert on_board["epoch"] == on_phone["epoch"] == board_snapshot["epoch"]  # one epoch for both processes
        assert on_board["seq"] == on_phone["seq"] > board_seq  # one sequence for both processes
    finally:
        for listener in (board, phone):
            if listener is not None:
                listener.close()
        kiosk_a.close()
        clerk_b.close()


def test_eight_clerks_across_two_processes_never_get_the_same_ticket_and_numbers_have_no_gaps(
    scale_world, start_server
):
    world = scale_world.world
    queue = redis_url(scale_world.redis_number)
    servers = [start_server(scale_world.database_url, queue), start_server(scale_world.database_url, queue)]
    clerks = list(scale_world.clerks.items())
    assert len(clerks) == 8
    per_kiosk, kiosks = 12, 8
    issued: list[dict] = []
    errors: list[str] = []
    start = threading.Barrier(kiosks)

    def kiosk(index: int) -> None:
        api = Api(servers[index % 2].url, world.kiosk_token)
        try:
            start.wait(30)
            for _ in range(per_kiosk):
                response = api.post("/tickets", {"service": "TP-A"})
                if response.status_code == 201:
                    issued.append(response.json())
                else:
                    errors.append(response.text)
        finally:
            api.close()

    _run_threads(kiosk, kiosks)
    assert not errors, errors[:3]
    assert len(issued) == per_kiosk * kiosks

    rounds = len(issued) // len(clerks) + 2
    claims: dict[str, list[int]] = {name: [] for name, _ in clerks}
    each_round = threading.Barrier(len(clerks))

    def clerk(index: int) -> None:
        name, username = clerks[index]
        api = Api(servers[index % 2].url)
        try:
            api.token = api.login(username)
            counter = world.counters[name]
            api.ok(f"/counters/{counter}/open")
            for _ in range(rounds):
                each_round.wait(30)
                response = api.post(f"/counters/{counter}/next")
                if response.status_code == 200 and response.json()["ticket"] is None:
                    pass  # the clerk's citizen was finished and nobody was left to call
                elif response.status_code == 200:
                    claims[name].append(response.json()["ticket"]["id"])
                    api.ok(f"/counters/{counter}/start")  # the next "next" finishes it
                elif response.json()["error"]["code"] != "no_ticket_waiting":
                    errors.append(response.text)
        except BaseException as exc:
            errors.append(repr(exc))
            each_round.abort()
        finally:
            api.close()

    _run_threads(clerk, len(clerks))
    assert not errors, errors[:3]
    every = [ticket_id for claimed in claims.values() for ticket_id in claimed]
    assert not [tid for tid, n in Tally(every).items() if n > 1], "a ticket was called by two counters"
    assert sorted(every) == sorted(t["id"] for t in issued)
    assert sum(1 for claimed in claims.values() if claimed) >= 4, claims  # the work really was shared

    db = Database(load_settings(environ={}, database_url=scale_world.database_url))
    with db.read() as session:
        rows = session.exec(select(Ticket.sequence_id, Ticket.service_date, Ticket.number)).all()
    db.dispose()
    by_day: dict[tuple, list[int]] = {}
    for sequence_id, day, number in rows:
        by_day.setdefault((sequence_id, day), []).append(number)
    for numbers in by_day.values():
        numbers.sort()
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), "gap or duplicate in numbering"
        assert numbers[0] == 1001


def _run_threads(target, count: int) -> None:
    threads = [threading.Thread(target=target, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
