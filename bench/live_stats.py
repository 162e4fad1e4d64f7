"""The live dashboard's read at 0 and at 30,000 tickets finished today (issue 13: within 1.2×).

Two real `luot serve` processes on SQLite, each on a copy of one demo instance: the second file first gets
`finished` tickets of today written straight into it (issued, called, started and finished between local
midnight and now, with their four log events each), before its server starts. Then, on each, the manager asks
`/dashboard/api/live` for the demo centre: one read (it builds the site's figures from the log: timed apart),
10 warm-up reads, then `reads` timed reads on a kept-alive connection, in rounds of 20 alternating between the
two servers.

`run(workdir, mode="eventlet", finished=30_000, reads=200)` returns rows (dicts: what, value, target, met);
`python -m bench.live_stats` prints them.
"""

from __future__ import annotations

import argparse
import random
import secrets
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from bench import BenchServer, machine, percentile

MANAGER = ("manager", "demo-manager")  # server.demo_data.DEMO_PASSWORDS
TARGET_RATIO = 1.2


def add_finished_today(instance: Path, count: int, seed: int = 7) -> int:
    """Writes `count` finished tickets of today (local) with their events into the instance's SQLite file, spread
    over the demo centre's services and counters; returns the centre's site id."""
    from sqlalchemy import func, insert, select

    from server.clock import local_date, local_midnight
    from server.db import Database
    from server.models import Counter, CounterService, Service, Site, Ticket, TicketEvent
    from server.settings import load_settings

    rng = random.Random(seed)
    db = Database(load_settings(environ={}, instance_dir=str(instance)))
    now = datetime.now(UTC)
    today = local_date(now)
    midnight = local_midnight(today)
    span = max(60.0, (now - midnight).total_seconds() - 120)
    try:
        with db.write() as session:
            site_id = session.execute(select(Site.id).order_by(Site.id)).scalars().first()
            services = session.execute(select(Service).where(Service.site_id == site_id)).scalars().all()
            counters_of: dict[int, list[int]] = {}
            for counter_id, service_id in session.execute(
                select(CounterService.counter_id, CounterService.service_id)
                .join(Counter, Counter.id == CounterService.counter_id)
                .where(Counter.site_id == site_id)
            ):
                counters_of.setdefault(service_id, []).append(counter_id)
            services = [s for s in services if counters_of.get(s.id)]
            first_id = (session.execute(select(func.max(Ticket.id))).scalar() or 0) + 1
            numbers: dict[int, int] = {}
            tickets, events = [], []
            for offset in range(count):
                service = rng.choice(services)
                ticket_id = first_id + offset
                numbers[service.sequence_id] = number = numbers.get(service.sequence_id, 5000) + 1
                issued = midnight + timedelta(seconds=rng.uniform(0, span * 0.9))
                called = issued + timedelta(seconds=rng.uniform(0, 40 * 60))
                started = called + timedelta(seconds=rng.uniform(5, 60))
                finished = min(started + timedelta(seconds=rng.uniform(60, 20 * 60)), now - timedelta(seconds=1))
                called, started = min(called, finished), min(started, finished)
                counter = rng.choice(counters_of[service.id])
                tickets.append(
                    {
                        "id": ticket_id,
                        "site_id": site_id,
                        "service_id": service.id,
                        "agency_id": service.agency_id,
                        "origin_service_id": service.id,
                        "sequence_id": service.sequence_id,
                        "service_date": today,
                        "number": number,
                        "display_number": str(number),
                        "priority": "",
                        "channel": "kiosk",
                        "status": "finished",
                        "issued_at": issued,
                        "queue_since": issued,
                        "first_called_at": called,
                        "called_at": called,
                        "started_at": started,
                        "finished_at": finished,
                        "counter_id": counter,
                        "tracking_token": secrets.token_urlsafe(16),
                    }
                )
                for kind, at, where in (
                    ("issued", issued, None),
                    ("called", called, counter),
                    ("started", started, counter),
                    ("finished", finished, counter),
                ):
                    events.append(
                        {
                            "ticket_id": ticket_id,
                            "site_id": site_id,
                            "kind": kind,
                            "at": at,
                            "service_id": service.id,
                            "agency_id": service.agency_id,
                            "counter_id": where,
                            "user_id": None,
                            "data": {},
                        }
                    )
            connection = session.connection()
            for start in range(0, len(tickets), 5000):
                connection.execute(insert(Ticket.__table__), tickets[start : start + 5000])
            events.sort(key=lambda e: e["at"])  # the log's ids follow time, as when the day was served
            for start in range(0, len(events), 20000):
                connection.execute(insert(TicketEvent.__table__), events[start : start + 20000])
        with db.engine.connect() as connection:  # as after a day of automatic checkpoints: the log in the file
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return int(site_id)
    finally:
        db.dispose()


class Reader:
    """The manager's kept-alive connection to one server's `/dashboard/api/live` for one site."""

    def __init__(self, url: str, site_id: int) -> None:
        self.http = requests.Session()
        reply = self.http.post(
            f"{url}/api/v1/auth/token", json={"username": MANAGER[0], "password": MANAGER[1]}, timeout=30
        )
        self.http.headers["Authorization"] = f"Bearer {reply.json()['token']}"
        self.address = f"{url}/dashboard/api/live?site={site_id}"
        self.times: list[float] = []
        began = time.perf_counter()
        self.bytes = len(self.get())
        self.first_ms = (time.perf_counter() - began) * 1000  # the first read builds the site's figures

    def get(self) -> bytes:
        response = self.http.get(self.address, timeout=120)
        response.raise_for_status()
        return response.content

    def timed(self, count: int) -> None:
        for _ in range(count):
            began = time.perf_counter()
            self.get()
            self.times.append((time.perf_counter() - began) * 1000)


def run(workdir: Path, mode: str = "eventlet", finished: int = 30_000, reads: int = 200) -> list[dict[str, Any]]:
    """Rows (what, value, target, met) of the live dashboard read at 0 and at `finished` tickets finished today.

    Both servers run at once and are read in alternating rounds of 20, so the machine's other load weighs on
    both alike."""
    base = BenchServer(workdir / f"live-stats-{mode}-0", mode)
    base.workdir.mkdir(parents=True)
    base.seed_demo()
    full = BenchServer(workdir / f"live-stats-{mode}-{finished}", mode)
    shutil.copytree(base.workdir / "instance", full.workdir / "instance")
    loaded = time.perf_counter()
    site_id = add_finished_today(full.workdir / "instance", finished)
    loaded = time.perf_counter() - loaded
    try:
        base.start()
        full.start()
        zero, many = Reader(base.url, site_id), Reader(full.url, site_id)
        for reader in (zero, many):
            reader.timed(10)  # warm-up
            reader.times.clear()
        for _ in range(max(1, reads // 20)):
            zero.timed(20)
            many.timed(20)
    finally:
        base.stop()
        full.stop()

    def value(reader: Reader) -> str:
        return (
            f"p50 {percentile(reader.times, 50):.2f} ms, p99 {percentile(reader.times, 99):.2f} ms, "
            f"{reader.bytes:,} B (first read, building: {reader.first_ms:.0f} ms)"
        )

    ratio = percentile(many.times, 50) / percentile(zero.times, 50)
    return [
        {"what": "live dashboard read, 0 finished today", "value": value(zero), "target": "", "met": ""},
        {
            "what": f"live dashboard read, {finished:,} finished today",
            "value": f"{value(many)}; {finished:,} tickets written in {loaded:.1f} s",
            "target": "",
            "met": "",
        },
        {
            "what": f"live dashboard read, {finished:,} ÷ 0 (p50)",
            "value": f"{ratio:.2f}×",
            "target": f"≤ {TARGET_RATIO}×",
            "met": "yes" if ratio <= TARGET_RATIO else "NO",
        },
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", default="eventlet")
    parser.add_argument("--finished", type=int, default=30_000)
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (server logs, databases)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="luot-live-stats-"))
    print(machine())
    try:
        for row in run(workdir, args.mode, args.finished, args.reads):
            print(f"{row['what']:<48} {row['value']}  {row['target']} {row['met']}".rstrip())
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
