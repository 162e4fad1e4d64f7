"""Clerks at rush hour (issue 13) and how the line's size weighs on each request (issue 12).

Each measure runs its own `luot serve` (SQLite, the demo province plus `bench.lines`' 20 bench counters)
with its line written into the file before the server starts:

- call next, 1 clerk on a keep-alive connection (next, then start, again and again; next is timed);
- 20 clerks pressing Next together (a barrier per round), then double calls counted from the database;
- the same at 30,000 tickets finished today;
- call next at 5,000 waiting against a short line;
- 16 kiosks and 20 clerks together for a fixed time, one board counting the calls it was sent;
- the growth table: issue, call next, a phone's status read, the live dashboard and a board snapshot at
  0 / 200 / 1,000 / 5,000 waiting, on one service and spread over 20 agencies;
- answers of 1, 16 and 64 KiB over keep-alive (a static file read with a Range header).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from bench import BOARD_TOKEN, KIOSK_TOKEN, SERVICES, BenchServer, percentile
from bench.keepalive import Answer, KeepAlive
from bench.lines import BENCH_PASSWORD, BENCH_SERVICE, BenchSite, add_bench_site
from tests.support.ordered_client import OrderedClient

MANAGER = ("manager", "demo-manager")


@dataclass
class Timings:
    values: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def p50(self) -> float:
        return percentile(self.values, 50)

    @property
    def p99(self) -> float:
        return percentile(self.values, 99)

    def text(self) -> str:
        extra = f", {len(self.errors)} errors ({self.errors[0]})" if self.errors else ""
        return f"p50 {self.p50:.1f} ms, p99 {self.p99:.1f} ms (n={len(self.values)}){extra}"


@contextmanager
def bench_server(
    workdir: Path, name: str, waiting: int = 0, finished: int = 0, spread: bool = False
) -> Iterator[tuple[BenchServer, BenchSite]]:
    server = BenchServer(workdir / name, "eventlet")
    server.workdir.mkdir(parents=True)
    server.seed_demo()
    site = add_bench_site(server.workdir / "instance", waiting=waiting, finished=finished, spread=spread)
    server.start()
    try:
        yield server, site
    finally:
        server.stop()


def _timed(
    call: Callable[[], requests.Response | Answer], timings: Timings, ok: tuple[int, ...] = (200, 201)
) -> requests.Response | Answer:
    began = time.perf_counter()
    response = call()
    timings.values.append((time.perf_counter() - began) * 1000)
    if response.status_code not in ok:
        timings.errors.append(f"{response.status_code} {response.text[:80]}")
    return response


class Clerk:
    """One clerk's keep-alive session at one bench counter, pressing keys as the console does: each action on the
    citizen at the counter names the ticket the console shows (`ticket_id`, null for nobody)."""

    def __init__(self, server: BenchServer, site: BenchSite, index: int) -> None:
        self.url = server.url
        self.counter_id = site.counter_ids[index]
        self.http = KeepAlive()
        token = self.http.post(
            f"{self.url}/api/v1/auth/token",
            json={"username": site.clerks[index], "password": BENCH_PASSWORD},
            timeout=60,
        )
        token.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {token.json()['token']}"
        self.post("open").raise_for_status()
        self.shown: int | None = None  # the ticket the console shows at the counter (after open: nobody)

    def post(self, action: str, body: dict[str, Any] | None = None) -> Answer:
        return self.http.post(f"{self.url}/api/v1/counters/{self.counter_id}/{action}", json=body or {}, timeout=60)

    def next(self, timings: Timings) -> bool:
        """Call next (timed) and start serving whoever came; False when nobody was called."""
        response = _timed(lambda: self.post("next", {"ticket_id": self.shown}), timings)
        if response.status_code != 200:
            self._resync()
            return False
        ticket = (response.json() or {}).get("ticket")
        self.shown = ticket["id"] if ticket else None
        if ticket is None:
            return False
        if self.post("start", {"ticket_id": self.shown}).status_code != 200:
            self._resync()
        return True

    def _resync(self) -> None:
        """After a refused action: the console's view of the counter is read again, as the console does."""
        answer = self.http.get(f"{self.url}/api/v1/counters/{self.counter_id}", timeout=60)
        if answer.status_code == 200:
            current = (answer.json() or {}).get("counter", {}).get("current")
            self.shown = current["id"] if current else None


def double_calls(server: BenchServer) -> tuple[int, int]:
    """(tickets called, tickets called by more than one `called` event) read from the SQLite file."""
    with sqlite3.connect(server.workdir / "instance" / "luot.sqlite3") as connection:
        called = connection.execute(
            "SELECT count(DISTINCT ticket_id) FROM ticketevent WHERE kind = 'called' AND user_id IS NOT NULL"
        ).fetchone()
        twice = connection.execute(
            "SELECT count(*) FROM (SELECT ticket_id FROM ticketevent WHERE kind = 'called' AND user_id IS NOT NULL "
            "GROUP BY ticket_id HAVING count(*) > 1)"
        ).fetchone()
    return int(called[0]), int(twice[0])


def call_next_one(workdir: Path, name: str, rounds: int, waiting: int) -> Timings:
    """p50/p99 of call next for one clerk. With `waiting` 0 a kiosk issues one ticket before each call (the
    line stays at one); otherwise the line starts at `waiting` and shrinks by `rounds`."""
    timings = Timings()
    with bench_server(workdir, name, waiting=waiting + (rounds + 10 if waiting else 0)) as (server, site):
        clerk = Clerk(server, site, 0)
        kiosk = KeepAlive()
        kiosk.headers["Authorization"] = f"Bearer {KIOSK_TOKEN}"

        def one(into: Timings) -> None:
            if not waiting:
                kiosk.post(f"{server.url}/api/v1/tickets", json={"service": BENCH_SERVICE}, timeout=60)
            clerk.next(into)

        for _ in range(10):  # warm-up: first requests build caches
            one(Timings())
        for _ in range(rounds):
            one(timings)
    return timings


@dataclass
class BarrierResult:
    timings: Timings
    called: int
    twice: int
    snapshot: Timings  # a board's snapshot.request → snapshot, after the rounds


def barrier_rounds(workdir: Path, name: str, clerks: int, rounds: int, finished: int = 0) -> BarrierResult:
    """`clerks` clerks press Next at the same instant, `rounds` times; every call is timed."""
    timings = Timings()
    with bench_server(workdir, name, waiting=clerks * (rounds + 3), finished=finished) as (server, site):
        people = [Clerk(server, site, index) for index in range(clerks)]
        for clerk in people:
            clerk.next(Timings())  # warm-up round
        barrier = threading.Barrier(clerks)
        lock = threading.Lock()

        def work(clerk: Clerk) -> None:
            mine = Timings()
            for _ in range(rounds):
                try:
                    barrier.wait(60)
                except threading.BrokenBarrierError:
                    break
                clerk.next(mine)
            with lock:
                timings.values.extend(mine.values)
                timings.errors.extend(mine.errors)

        threads = [threading.Thread(target=work, args=(clerk,)) for clerk in people]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(600)
        called, twice = double_calls(server)
        snapshot = Timings()
        board = CountingBoard(server.url)
        for index in range(22):
            value = board.snapshot_ms()
            if index >= 2:
                snapshot.values.append(value)
        board.close()
    return BarrierResult(timings, called, twice, snapshot)


class CountingBoard:
    """A real Socket.IO client as a hall board: counts the distinct call ids it is sent."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.calls: set[str] = set()
        self.snapshots = 0
        self.snapshot_seen = threading.Event()
        self.client = OrderedClient(reconnection=False)
        self.client.on("ticket.called", self._called)
        self.client.on("snapshot", self._snapshot)
        self.client.connect(url, auth={"token": BOARD_TOKEN}, transports=["websocket"], wait_timeout=30)

    def _called(self, data: dict) -> None:
        self.calls.add(str(data.get("call_id") or data.get("id")))

    def _snapshot(self, _data: dict) -> None:
        self.snapshots += 1
        self.snapshot_seen.set()

    def snapshot_ms(self) -> float:
        """One board connecting: connect → its snapshot drawn (ms). A new connection each time: a connected
        socket may ask for one snapshot a second at most (issue 14), so asking again would measure the limit."""
        seen = threading.Event()
        client = OrderedClient(reconnection=False)
        client.on("snapshot", lambda _data: seen.set())
        began = time.perf_counter()
        try:
            client.connect(self.url, auth={"token": BOARD_TOKEN}, transports=["websocket"], wait_timeout=30)
            if not seen.wait(30):
                return float("nan")
            return (time.perf_counter() - began) * 1000
        finally:
            client.disconnect()

    def close(self) -> None:
        self.client.disconnect()


@dataclass
class MixedResult:
    issue: Timings
    call: Timings
    calls_made: int
    calls_seen: int


def mixed(workdir: Path, seconds: float, kiosks: int = 16, clerks: int = 20) -> MixedResult:
    """`kiosks` kiosks issuing and `clerks` clerks calling as fast as they can, all at once, for `seconds`."""
    issue, call = Timings(), Timings()
    made = [0]
    with bench_server(workdir, "mixed", waiting=clerks * 5) as (server, site):
        people = [Clerk(server, site, index) for index in range(clerks)]
        board = CountingBoard(server.url)
        stop = time.monotonic() + seconds
        lock = threading.Lock()

        def kiosk(offset: int) -> None:
            mine = Timings()
            with KeepAlive() as http:
                http.headers["Authorization"] = f"Bearer {KIOSK_TOKEN}"
                index = 0
                while time.monotonic() < stop:
                    service = BENCH_SERVICE if index % 2 else SERVICES[(offset + index) % len(SERVICES)]
                    _timed(
                        lambda s=service: http.post(f"{server.url}/api/v1/tickets", json={"service": s}, timeout=60),
                        mine,
                    )
                    index += 1
            with lock:
                issue.values.extend(mine.values)
                issue.errors.extend(mine.errors)

        def clerk_loop(clerk: Clerk) -> None:
            mine = Timings()
            count = 0
            while time.monotonic() < stop:
                if clerk.next(mine):
                    count += 1
            with lock:
                call.values.extend(mine.values)
                call.errors.extend(e for e in mine.errors if not e.startswith("409"))
                made[0] += count

        threads = [threading.Thread(target=kiosk, args=(i,)) for i in range(kiosks)]
        threads += [threading.Thread(target=clerk_loop, args=(c,)) for c in people]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(seconds + 120)
        deadline = time.monotonic() + 10
        called, _twice = double_calls(server)
        while len(board.calls) < called and time.monotonic() < deadline:
            time.sleep(0.05)  # the last calls' events are on their way; bounded wait, then count
        seen = len(board.calls)
        board.close()
    return MixedResult(issue, call, called, seen)


@dataclass
class GrowthRow:
    waiting: int
    spread: bool
    issue: Timings
    call: Timings
    status: Timings
    dashboard: Timings
    snapshot: Timings


def growth(workdir: Path, waiting: int, spread: bool, repeat: int) -> GrowthRow:
    """Issue, call next, status read, live dashboard and board snapshot with `waiting` tickets in line."""
    issue, call, status, dashboard, snapshot = Timings(), Timings(), Timings(), Timings(), Timings()
    name = f"growth-{waiting}-{'spread' if spread else 'one'}"
    with bench_server(workdir, name, waiting=waiting, spread=spread) as (server, site):
        kiosk = requests.Session()
        kiosk.headers["Authorization"] = f"Bearer {KIOSK_TOKEN}"
        services = [BENCH_SERVICE] if not spread else list(SERVICES)
        tokens = []
        for index in range(repeat + 5):
            response = _timed(
                lambda i=index: kiosk.post(
                    f"{server.url}/api/v1/tickets", json={"service": services[i % len(services)]}, timeout=60
                ),
                issue if index >= 5 else Timings(),
            )
            if response.status_code == 201:
                tokens.append(response.json()["tracking_token"])
        phone = requests.Session()
        for index in range(repeat + 5):
            token = tokens[index % len(tokens)] if tokens else "missing"
            _timed(
                lambda t=token: phone.get(f"{server.url}/api/v1/tickets/{t}", timeout=60),
                status if index >= 5 else Timings(),
            )
        manager = requests.Session()
        login = manager.post(
            f"{server.url}/api/v1/auth/token", json={"username": MANAGER[0], "password": MANAGER[1]}, timeout=60
        )
        login.raise_for_status()
        manager.headers["Authorization"] = f"Bearer {login.json()['token']}"
        for index in range(repeat + 2):
            _timed(
                lambda: manager.get(f"{server.url}/dashboard/api/live", timeout=60),
                dashboard if index >= 2 else Timings(),
            )
        board = CountingBoard(server.url)
        for index in range(repeat + 2):
            value = board.snapshot_ms()
            if index >= 2:
                snapshot.values.append(value)
        board.close()
        clerk = Clerk(server, site, 0)
        for index in range(repeat + 5):
            clerk.next(call if index >= 5 else Timings())
    return GrowthRow(waiting, spread, issue, call, status, dashboard, snapshot)


def answer_sizes(workdir: Path, repeat: int) -> dict[int, Timings]:
    """GET of 1, 16 and 64 KiB over one keep-alive connection (a static bundle read with a Range header)."""
    results: dict[int, Timings] = {}
    with bench_server(workdir, "sizes") as (server, _site):
        path = "/kiosk/static/build/kiosk.js.map"
        http = requests.Session()
        probe = http.get(f"{server.url}{path}", timeout=30)
        if probe.status_code != 200:
            raise RuntimeError(f"{path} answered {probe.status_code}")
        for size in (1024, 16 * 1024, 64 * 1024):
            timings = Timings()
            headers = {"Range": f"bytes=0-{size - 1}"}
            for index in range(repeat + 10):
                _timed(
                    lambda h=headers: http.get(f"{server.url}{path}", headers=h, timeout=30),
                    timings if index >= 10 else Timings(),
                    ok=(206,),
                )
            results[size] = timings
    return results
