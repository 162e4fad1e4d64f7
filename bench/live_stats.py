"""The live dashboard's read at 0 and at 30,000 tickets finished today (issue 13: within 1.2×).

Two real `luot serve` processes on SQLite, each on a copy of one demo instance: the second file first gets
`finished` tickets of today written straight into it (issued, called, started and finished between local
midnight and now, with their four log events each), before its server starts. Then, on each, the manager asks
`/dashboard/api/live` for the demo centre: `warmup` reads (the first builds the site's figures from the log),
then `reads` timed reads one after another on a kept-alive connection.

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
        return int(site_id)
    finally:
        db.dispose()


def time_reads(url: str, site_id: int, warmup: int, reads: int) -> dict[str, float]:
    """ms per `/dashboard/api/live` read (p50, p99) on one kept-alive connection, and the answer's size."""
    http = requests.Session()
    token = http.post(
        f"{url}/api/v1/auth/token", json={"username": MANAGER[0], "password": MANAGER[1]}, timeout=30
    ).json()["token"]
    http.headers["Authorization"] = f"Bearer {token}"
    address = f"{url}/dashboard/api/live?site={site_id}"
    first = time.perf_counter()
    size = len(http.get(address, timeout=120).content)
    build_ms = (time.perf_counter() - first) * 1000
    for _ in range(warmup):
        http.get(address, timeout=30).raise_for_status()
    times = []
    for _ in range(reads):
        began = time.perf_counter()
        http.get(address, timeout=30).raise_for_status()
        times.append((time.perf_counter() - began) * 1000)
    return {"p50": percentile(times, 50), "p99": percentile(times, 99), "bytes": size, "first": build_ms}


def run(workdir: Path, mode: str = "eventlet", finished: int = 30_000, reads: int = 200) -> list[dict[str, Any]]:
    """Rows (what, value, target, met) of the live dashboard read at 0 and at `finished` tickets finished today."""
    base = BenchServer(workdir / f"live-stats-{mode}-0", mode)
    base.workdir.mkdir(parents=True)
    base.prepare()
    full = BenchServer(workdir / f"live-stats-{mode}-{finished}", mode)
    shutil.copytree(base.workdir / "instance", full.workdir / "instance")
    loaded = time.perf_counter()
    site_id = add_finished_today(full.workdir / "instance", finished)
    loaded = time.perf_counter() - loaded
    figures = {}
    for server, label in ((base, 0), (full, finished)):
        server.start()
        try:
            figures[label] = time_reads(server.url, site_id, warmup=10, reads=reads)
        finally:
            server.stop()
    zero, many = figures[0], figures[finished]
    ratio = many["p50"] / zero["p50"] if zero["p50"] else float("nan")
    return [
        {
            "what": "live dashboard read, 0 finished today",
            "value": f"p50 {zero['p50']:.2f} ms, p99 {zero['p99']:.2f} ms, {zero['bytes']:,} B "
            f"(first read, building: {zero['first']:.0f} ms)",
            "target": "",
            "met": "",
        },
        {
            "what": f"live dashboard read, {finished:,} finished today",
            "value": f"p50 {many['p50']:.2f} ms, p99 {many['p99']:.2f} ms, {many['bytes']:,} B "
            f"(first read, building: {many['first']:.0f} ms; {finished:,} tickets written in {loaded:.1f} s)",
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
