"""Clerks acting at the same instant through the real server process: two consoles pressing Call next on
counters sharing a service, two clerks taking the same counter, one clerk's double press."""

from __future__ import annotations

import threading
from collections import Counter as Tally
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlmodel import col, func, select

from server.db import Database
from server.models import TicketEvent
from server.process import ServerProcess
from tests.support.world import PASSWORD, World, build_world

pytestmark = pytest.mark.slow

ROUNDS = 30
TIMEOUT = 30


class Console:
    """One clerk's browser session: cookie login and the CSRF header, as the console page does."""

    def __init__(self, url: str, username: str) -> None:
        self.url = url
        self.http = requests.Session()
        response = self.http.post(
            f"{url}/api/v1/auth/login", json={"username": username, "password": PASSWORD}, timeout=TIMEOUT
        )
        assert response.status_code == 200, response.text
        self.http.headers["X-CSRFToken"] = response.json()["csrf_token"]

    def post(self, path: str, body: dict[str, Any] | None = None) -> requests.Response:
        return self.http.post(f"{self.url}{path}", json=body or {}, timeout=TIMEOUT)

    def close(self) -> None:
        self.http.close()


def issue(url: str, world: World, service: str = "TP-A") -> int:
    response = requests.post(
        f"{url}/api/v1/tickets",
        json={"service": service},
        headers={"Authorization": f"Bearer {world.kiosk_token}"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def at_once(*actions: Callable[[], requests.Response]) -> list[requests.Response]:
    """Runs each action in its own thread, released together by a barrier."""
    barrier = threading.Barrier(len(actions))
    results: list[requests.Response | BaseException | None] = [None] * len(actions)

    def run(index: int, action: Callable[[], requests.Response]) -> None:
        try:
            barrier.wait(timeout=TIMEOUT)
            results[index] = action()
        except BaseException as exc:  # handed to the test thread
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT * 2)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    assert all(isinstance(r, requests.Response) for r in results)
    return results  # type: ignore[return-value]


def _serve(tmp_path: Path, mode: str) -> Iterator[tuple[ServerProcess, World]]:
    server = ServerProcess(tmp_path / "instance", async_mode=mode)
    world = server.prepare(build_world)
    server.start()
    yield server, world  # type: ignore[misc]
    server.stop()


@pytest.fixture(params=["eventlet", "gevent", "threading"])
def every_mode(request, tmp_path: Path) -> Iterator[tuple[ServerProcess, World]]:
    yield from _serve(tmp_path, request.param)


@pytest.fixture
def served_world(tmp_path: Path) -> Iterator[tuple[ServerProcess, World]]:
    yield from _serve(tmp_path, "eventlet")


def called_events_per_ticket(server: ServerProcess) -> Tally:
    db = Database(server.settings())
    try:
        with db.read() as session:
            rows = session.exec(
                select(TicketEvent.ticket_id, func.count())
                .where(TicketEvent.kind == "called")
                .group_by(col(TicketEvent.ticket_id))
            ).all()
    finally:
        db.dispose()
    return Tally(dict(rows))


def test_two_counters_calling_at_once_never_get_the_same_ticket(every_mode):
    server, world = every_mode
    c1, c2 = world.counters["c1"], world.counters["c2"]  # both serve TP-A
    first, second = Console(server.url, "clerk1"), Console(server.url, "clerk2")
    try:
        assert first.post(f"/api/v1/counters/{c1}/open").status_code == 200
        assert second.post(f"/api/v1/counters/{c2}/open").status_code == 200
        issued: list[int] = []
        called: list[int] = []
        for round_number in range(ROUNDS):
            waiting = 1 + round_number % 2  # alternately one citizen for two clerks, and two
            issued += [issue(server.url, world) for _ in range(waiting)]
            answers = at_once(
                lambda: first.post(f"/api/v1/counters/{c1}/next"), lambda: second.post(f"/api/v1/counters/{c2}/next")
            )
            winners = [a for a in answers if a.status_code == 200]
            losers = [a for a in answers if a.status_code != 200]
            assert len(winners) == waiting, [a.text for a in answers]
            for loser in losers:
                assert loser.status_code == 409 and loser.json()["error"]["code"] == "no_ticket_waiting"
            round_ids = [a.json()["ticket"]["id"] for a in winners]
            assert len(set(round_ids)) == len(round_ids), f"round {round_number}: both got {round_ids}"
            called += round_ids
            for console, counter_id, answer in ((first, c1, answers[0]), (second, c2, answers[1])):
                if answer.status_code == 200:
                    assert console.post(f"/api/v1/counters/{counter_id}/finish").status_code == 200
        assert sorted(called) == sorted(issued)  # every citizen called once, nobody twice
        assert set(called_events_per_ticket(server).values()) == {1}
    finally:
        first.close()
        second.close()


def test_two_clerks_taking_the_same_counter_at_once_leave_it_to_exactly_one(served_world):
    server, world = served_world
    clerks = [Console(server.url, "clerk1"), Console(server.url, "clerk2")]
    try:
        for round_number in range(ROUNDS):
            counter_id = world.counters["c1" if round_number % 2 else "c3"]
            path = f"/api/v1/counters/{counter_id}/open"
            answers = at_once(*(lambda c=c, p=path: c.post(p) for c in clerks))
            codes = sorted(a.status_code for a in answers)
            assert codes == [200, 409], [a.text for a in answers]
            refused = next(a for a in answers if a.status_code == 409)
            assert refused.json()["error"]["code"] == "counter_taken"
            assert refused.json()["error"]["messages"]["vi"].endswith("đang do cán bộ khác sử dụng.")
            winner = clerks[[a.status_code for a in answers].index(200)]
            assert winner.post(f"/api/v1/counters/{counter_id}/close").status_code == 200
    finally:
        for clerk in clerks:
            clerk.close()


def test_a_double_press_of_call_next_calls_one_citizen(served_world):
    server, world = served_world
    counter_id = world.counters["c1"]
    tabs = [Console(server.url, "clerk1") for _ in range(2)]  # the same clerk, e.g. two tabs or a key bounce
    try:
        assert tabs[0].post(f"/api/v1/counters/{counter_id}/open").status_code == 200
        for _ in range(ROUNDS):
            issue(server.url, world)
            issue(server.url, world)
            answers = at_once(*(lambda t=t: t.post(f"/api/v1/counters/{counter_id}/next") for t in tabs))
            assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
            refused = next(a for a in answers if a.status_code == 409)
            assert refused.json()["error"]["code"] == "ticket_still_called"
            assert tabs[0].post(f"/api/v1/counters/{counter_id}/finish").status_code == 200
        assert set(called_events_per_ticket(server).values()) == {1}
    finally:
        for tab in tabs:
            tab.close()


def implicit_starts(server: ServerProcess) -> list[int]:
    """Tickets whose service was started by their Finish (or a Call next): finished without Start."""
    db = Database(server.settings())
    try:
        with db.read() as session:
            started = session.exec(select(TicketEvent).where(TicketEvent.kind == "started")).all()
    finally:
        db.dispose()
    return [event.ticket_id for event in started if event.data.get("implicit")]


def test_two_consoles_naming_the_citizen_served_never_finish_the_next_one_unseen(served_world):
    """Report H2, D4 (its racy form): one console's Call next and the other's Finish, both for the served citizen X,
    at once. Whichever comes second names a ticket no longer at the counter and is refused; the citizen called
    after X is never finished without coming to the desk."""
    server, world = served_world
    counter_id = world.counters["c1"]
    path = f"/api/v1/counters/{counter_id}"
    tabs = [Console(server.url, "clerk1") for _ in range(2)]  # the same clerk: two tabs, or two PCs
    try:
        assert tabs[0].post(f"{path}/open").status_code == 200
        for _ in range(ROUNDS):
            x, y = issue(server.url, world), issue(server.url, world)
            assert tabs[0].post(f"{path}/next", {"ticket_id": None}).json()["ticket"]["id"] == x
            assert tabs[0].post(f"{path}/start", {"ticket_id": x}).status_code == 200
            named = {"ticket_id": x}  # both consoles show X
            answers = at_once(
                lambda b=named: tabs[1].post(f"{path}/next", b), lambda b=named: tabs[0].post(f"{path}/finish", b)
            )
            assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
            refused = next(a for a in answers if a.status_code == 409)
            assert refused.json()["error"]["code"] == "ticket_changed"
            if answers[0].status_code != 200:  # the Finish came first: nobody at the counter, Y still waits
                assert tabs[0].post(f"{path}/next", {"ticket_id": None}).json()["ticket"]["id"] == y
            assert tabs[0].post(f"{path}/start", {"ticket_id": y}).json()["ticket"]["status"] == "serving"
            assert tabs[0].post(f"{path}/finish", {"ticket_id": y}).status_code == 200
        assert implicit_starts(server) == []
    finally:
        for tab in tabs:
            tab.close()
