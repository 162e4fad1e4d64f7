"""What the machine and the stack allow before Lượt does any work: the floors under the issue rate.

- a bare WSGI app and a Flask "hello" route, each served by eventlet's WSGI server in its own process,
  hit sequentially over one keep-alive connection (what one kiosk in a loop can get at best);
- one SQLite commit in WAL mode with synchronous=FULL (fsync: survives a power cut; Lượt's default) and
  NORMAL (survives a crash of the process, not of the machine), on the disk the bench runs on;
- the issue use case alone, in process: Runner + issue_ticket on the demo province, no HTTP, no auth.
"""

from __future__ import annotations

import http.client
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

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
        ]


if __name__ == "__main__":
    for floor in run(quick="--quick" in sys.argv):
        print(f"{floor.what}: {floor.text()}")
