"""What the machine and the stack allow before Lượt does any work: the floors under the issue rate.

- a bare WSGI app and a Flask "hello" route, each served by eventlet's WSGI server in its own process,
  hit sequentially over one keep-alive connection (what one kiosk in a loop can get at best);
- one SQLite commit in WAL mode with synchronous=FULL (fsync: survives a power cut; Lượt's default) and
  NORMAL (survives a crash of the process, not of the machine), on the disk the bench runs on;
- the issue use case alone, in process: Runner + issue_ticket on the demo province, no HTTP, no auth;
- call next alone, in process (Runner + call_next, finishing the citizen served before, as a clerk's Next does),
  and the SQL statements those calls ran replayed on plain `sqlite3` against a copy of the database as it was
  before them: the database work of a call next with no Python of Lượt's around it, its commit included.
"""

from __future__ import annotations

import http.client
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import SERVICES, percentile
from server.process import free_port

_SERVER = """
import eventlet
eventlet.monkey_patch()
from eventlet import wsgi
from flask import Flask

def bare(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]

flask_app = Flask("floor")

@flask_app.get("/")
def hello():
    return "ok"

wsgi.server(eventlet.listen(("127.0.0.1", {port})), {app}, log_output=False)
"""


@dataclass
class Floor:
    what: str
    rate: float
    p50: float
    p99: float

    def text(self) -> str:
        return f"{self.rate:.0f}/s, p50 {self.p50:.2f} ms, p99 {self.p99:.2f} ms"


def _timed(count: int, step) -> list[float]:
    latencies = []
    for _ in range(count):
        began = time.perf_counter()
        step()
        latencies.append((time.perf_counter() - began) * 1000)
    return latencies


def _floor(what: str, latencies: list[float]) -> Floor:
    return Floor(what, 1000 * len(latencies) / sum(latencies), percentile(latencies, 50), percentile(latencies, 99))


def http_floor(app: str, requests: int = 3000) -> Floor:
    """Sequential GETs against `bare` or `flask_app` under eventlet's WSGI server in a child process."""
    port = free_port()
    code = _SERVER.replace("{port}", str(port)).replace("{app}", app)
    server = subprocess.Popen([sys.executable, "-W", "ignore", "-c", code], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                connection.request("GET", "/")
                connection.getresponse().read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)  # readiness poll of a child process

        def one() -> None:
            connection.request("GET", "/")
            connection.getresponse().read()

        _timed(200, one)
        return _floor(f"{'bare WSGI' if app == 'bare' else 'Flask hello'} (eventlet, 1 client)", _timed(requests, one))
    finally:
        server.kill()
        server.wait(10)


def commit_floor(folder: Path, synchronous: str, commits: int = 500) -> Floor:
    """One small insert per transaction, WAL mode, BEGIN IMMEDIATE like Lượt's writes."""
    path = folder / f"floor-{synchronous}.sqlite3"
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(f"PRAGMA synchronous={synchronous}")
    connection.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")

    def one() -> None:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("INSERT INTO t VALUES (1)")
        connection.execute("COMMIT")

    try:
        return _floor(f"SQLite commit, WAL, synchronous={synchronous}", _timed(commits, one))
    finally:
        connection.close()


def use_case_floor(folder: Path, tickets: int = 500) -> Floor:
    """issue_ticket through the Runner (commit included, events published to no one): Lượt without HTTP."""
    from datetime import datetime

    from server.app import create_app
    from server.clock import LOCAL_TZ, ManualClock
    from server.demo_data import seed_demo
    from server.domain import queueing
    from server.instance import initialise
    from server.settings import load_settings

    settings = load_settings(
        environ={}, instance_dir=str(folder / "use-case"), async_mode="threading", log_level="WARNING"
    )
    initialise(settings)
    app = create_app(settings, clock=ManualClock(datetime(2026, 11, 18, 9, 0, tzinfo=LOCAL_TZ)))
    ctx = app.extensions["luot"]
    with ctx.db.write() as session:
        seed_demo(session)
    index = iter(range(10 * tickets))

    def one() -> None:
        ctx.run(
            queueing.issue_ticket,
            site_id=1,
            service_code=SERVICES[next(index) % len(SERVICES)],
            channel="kiosk",
            issuer_key="bench",
        )

    try:
        with app.app_context():
            _timed(50, one)
            return _floor("issue use case in process (no HTTP)", _timed(tickets, one))
    finally:
        ctx.db.dispose()


CALL_NEXT_SQL = "call next's SQL alone, replayed on sqlite3"
Statement = tuple[int, str, str, tuple[Any, ...]]  # (connection, phase, SQL, parameters)


def call_next_floors(folder: Path, rounds: int = 500) -> list[Floor]:
    """Call next for one clerk without HTTP, then its statements alone.

    Each round issues a ticket to the bench service, calls next (it finishes the citizen started the round before)
    and starts serving. `rounds` rounds time the call next; `rounds` more are recorded, every statement of every
    connection: the prebuilt ones (`server.domain.prepared`, all of a call next's but its COMMIT) with their
    parameters as Lượt sends them, so the replay reuses a compiled statement as Lượt does; the others with SQLite's
    trace callback (the SQL with its values written in). Then they are replayed in order, one plain `sqlite3`
    connection per recorded one, on a backup of the database taken before the recorded rounds, and the statements
    of each call next are timed together.
    Returns [use case, its statements replayed, their COMMIT].
    """
    from datetime import datetime

    from sqlalchemy import event
    from sqlmodel import select

    from bench.lines import BENCH_SERVICE, add_bench_site
    from server import db as db_module
    from server.app import create_app
    from server.clock import LOCAL_TZ, ManualClock
    from server.db import Database
    from server.demo_data import seed_demo
    from server.domain import prepared, queueing
    from server.instance import initialise
    from server.models import User
    from server.settings import load_settings

    instance = folder / "call-next"
    settings = load_settings(environ={}, instance_dir=str(instance), async_mode="threading", log_level="WARNING")
    initialise(settings)
    seeding = Database(settings)
    with seeding.write() as session:
        seed_demo(session)
    seeding.dispose()
    site = add_bench_site(instance, counters=1)
    app = create_app(settings, clock=ManualClock(datetime(2026, 11, 18, 9, 0, tzinfo=LOCAL_TZ)))
    ctx = app.extensions["luot"]
    counter_id = site.counter_ids[0]
    with ctx.db.read() as session:
        user = session.exec(select(User).where(User.username == site.clerks[0])).one()
    assert user.id is not None
    clerk = user.id
    recorded: list[Statement] = []
    phase = ["other"]
    # per connection: statements `driver_execute` recorded with their parameters, not yet seen by the trace (the
    # server's own threads (the message worker, a line refresh) run statements of their own meanwhile)
    handed: dict[int, int] = {}
    timing = threading.get_ident()  # only this thread's statements belong to a timed call next
    plain_execute = prepared.driver_execute

    def phase_here() -> str:
        return phase[0] if threading.get_ident() == timing else "other"

    def recording_execute(connection: Any, sql: str, values: Sequence[Any] = ()) -> Any:
        key = id(connection.connection.driver_connection)
        recorded.append((key, phase_here(), sql, tuple(values)))
        handed[key] = handed.get(key, 0) + 1
        return plain_execute(connection, sql, values)

    def trace(dbapi_connection: Any, _record: Any) -> None:
        key = id(dbapi_connection)

        def seen(sql: str) -> None:
            if handed.get(key):
                handed[key] -= 1
            else:
                recorded.append((key, phase_here(), sql, ()))

        dbapi_connection.set_trace_callback(seen)

    def one() -> float:
        ctx.run(
            queueing.issue_ticket, site_id=site.site_id, service_code=BENCH_SERVICE, channel="kiosk", issuer_key="bench"
        )
        phase[0] = "next"
        began = time.perf_counter()
        ctx.run(queueing.call_next, counter_id, clerk)
        took = (time.perf_counter() - began) * 1000
        phase[0] = "other"
        ctx.run(queueing.start, counter_id, clerk)
        return took

    before = folder / "call-next-before.sqlite3"
    try:
        with app.app_context():
            ctx.run(queueing.open_counter, counter_id, clerk)
            for _ in range(20):
                one()
            latencies = [one() for _ in range(rounds)]  # timed without the recording below
            with (
                closing(sqlite3.connect(instance / "luot.sqlite3")) as source,
                closing(sqlite3.connect(before)) as copy,
            ):
                source.backup(copy)
            event.listen(ctx.db.engine, "connect", trace)
            ctx.db.dispose()  # new connections (the kept write connection too), each traced from its first statement
            prepared.driver_execute = db_module.driver_execute = recording_execute
            for _ in range(rounds):
                one()
    finally:
        prepared.driver_execute = db_module.driver_execute = plain_execute
        ctx.db.dispose()
    totals, commits = _replay(before, recorded)
    _same_tickets(instance / "luot.sqlite3", before)
    return [
        _floor("call next use case in process (no HTTP)", latencies),
        _floor(CALL_NEXT_SQL, totals),
        _floor("call next's COMMIT alone, replayed", commits),
    ]


def _replay(path: Path, recorded: list[Statement]) -> tuple[list[float], list[float]]:
    """Runs the recorded statements in order on `path` (one connection per recorded one, WAL, synchronous=FULL as
    Lượt's are). Returns, per run of consecutive "next" statements, their time and their COMMIT's time, in ms."""
    connections: dict[int, sqlite3.Connection] = {}
    totals: list[float] = []
    commits: list[float] = []
    spent, committing, previous = 0.0, 0.0, "other"
    try:
        for key, phase, sql, values in recorded:
            if key not in connections:
                connections[key] = connection = sqlite3.connect(path, isolation_level=None)
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=FULL")
                connection.execute("PRAGMA foreign_keys=ON")
            if previous == "next" and phase != "next":
                totals.append(spent * 1000)
                commits.append(committing * 1000)
                spent = committing = 0.0
            began = time.perf_counter()
            connections[key].execute(sql, values).fetchall()
            if phase == "next":
                took = time.perf_counter() - began
                spent += took
                committing += took if sql == "COMMIT" else 0.0
            previous = phase
        if previous == "next":
            totals.append(spent * 1000)
            commits.append(committing * 1000)
    finally:
        for connection in connections.values():
            connection.close()
    return totals, commits


def _same_tickets(live: Path, replayed: Path) -> None:
    """Raises AssertionError unless the replay left every ticket and event as the recorded rounds did."""
    query = "SELECT id, status, counter_id, called_at, finished_at FROM ticket ORDER BY id"
    events = "SELECT count(*), max(id) FROM ticketevent"
    with closing(sqlite3.connect(live)) as one, closing(sqlite3.connect(replayed)) as other:
        for sql in (query, events):
            assert one.execute(sql).fetchall() == other.execute(sql).fetchall(), "the replay diverged from the rounds"


def run(quick: bool = False) -> list[Floor]:
    with tempfile.TemporaryDirectory(prefix="luot-floor-", dir=Path.cwd()) as folder:
        base = Path(folder)
        count = 1000 if quick else 3000
        return [
            http_floor("bare", count),
            http_floor("flask_app", count),
            commit_floor(base, "FULL"),
            commit_floor(base, "NORMAL"),
            use_case_floor(base, 200 if quick else 500),
            *call_next_floors(base, 100 if quick else 500),
        ]


if __name__ == "__main__":
    for floor in run(quick="--quick" in sys.argv):
        print(f"{floor.what}: {floor.text()}")
