"""`luot backup` on a busy server (issue 19, item 8): a ~500 MiB database (about a year of a busy centre), a kiosk
issuing ~25 tickets a second through the API while the real CLI copies it; the copy completes within seconds, is
restored into a fresh instance the documented way (`luot init`, `luot restore FILE`) and serves on: the next
ticket follows the last number of the day in the backup, without a gap or a repeat.

How the history is grown: one real day of 40 citizens is made through the domain (issued, called, started,
finished: tickets and their events as the server writes them), then copied in SQL, 35 times a day (numbers moved
up by 40 each time) over past days until the file passes 500 MiB, each copy with its own tracking token. The
day-of-week pattern and the statistics roll-ups are not made; the backup copies pages, whatever they hold.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from server.clock import LOCAL_TZ, local_date
from server.db import Database
from server.domain import errors, queueing
from server.process import ROOT, ServerProcess
from tests.integration._live import Api
from tests.support.live_board import wait_until
from tests.support.world import World, build_world

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

TARGET = 500 << 20  # bytes of database to grow
WRITES_PER_SECOND = 25
BACKUP_BOUND = 45.0  # seconds `luot backup` may take under the load (measured 15 s; 31 s on a machine loaded 4×)
CITIZENS = 40  # of the template day
COPIES_PER_DAY = 35  # numbers 1001…2400 a day, ~1,400 tickets: a busy centre
DAYS_PER_BATCH = 20
TICKET_TIMES = (
    "appointment_at",
    "issued_at",
    "queue_since",
    "first_called_at",
    "called_at",
    "started_at",
    "finished_at",
)


def _template_day(db: Database) -> World:
    """The test world, then yesterday's 40 citizens served from 08:00 at two counters (one every 6 minutes)."""
    world = build_world(db)
    morning = datetime.combine(_today() - timedelta(days=1), datetime.min.time(), LOCAL_TZ).replace(hour=8)
    clerks = [(world.counters["c1"], world.users["clerk1"]), (world.counters["c2"], world.users["clerk2"])]
    with db.write() as session:
        for counter_id, user_id in clerks:
            queueing.open_counter(session, morning, counter_id, user_id)
    for n in range(CITIZENS):
        now = morning + timedelta(minutes=6 * n)
        with db.write() as session:
            queueing.issue_ticket(session, now, site_id=world.site_id, service_code="TP-A")
        counter_id, user_id = clerks[n % 2]
        with db.write() as session, contextlib.suppress(errors.DomainError):
            queueing.call_next(session, now + timedelta(minutes=1), counter_id, user_id)
            queueing.start(session, now + timedelta(minutes=2), counter_id, user_id)
            queueing.finish(session, now + timedelta(minutes=5), counter_id, user_id)
    return world


def _today() -> date:
    """The service date of now (the centre's local day)."""
    return local_date(datetime.now(UTC))


def _shifted(column: str, days: str) -> str:
    """SQL: a DATETIME text column `days` days earlier, keeping its fraction of a second."""
    earlier = f"strftime('%Y-%m-%d %H:%M:%S', {column}, '-' || {days} || ' days') || substr({column}, 20)"
    return f"CASE WHEN {column} IS NULL THEN NULL ELSE {earlier} END"


def _grow(database: Path, target: int) -> tuple[int, int]:
    """Copies the template day (every ticket and event on the database) over earlier days until the file holds
    `target` bytes; returns (tickets, bytes)."""
    with closing(sqlite3.connect(database, isolation_level=None)) as db:
        db.execute("PRAGMA synchronous=OFF")
        db.execute("PRAGMA cache_size=-262144")  # 256 MiB: the random tracking-token index stays in memory
        span = db.execute("SELECT max(id), count(*) FROM ticket").fetchone()[0]
        ticket_columns = [row[1] for row in db.execute("PRAGMA table_info(ticket)")]
        event_columns = [row[1] for row in db.execute("PRAGMA table_info(ticketevent)") if row[1] != "id"]
        copy_ticket = {
            "id": f"t.id + c.n * {span}",
            "service_date": "date(t.service_date, '-' || c.day || ' days')",
            "number": f"t.number + c.r * {CITIZENS}",
            "display_number": f"replace(t.display_number, t.number, t.number + c.r * {CITIZENS})",
            "tracking_token": "lower(hex(randomblob(11)))",
            **{name: _shifted(f"t.{name}", "c.day") for name in TICKET_TIMES},
        }
        copy_event = {"ticket_id": f"e.ticket_id + c.n * {span}", "at": _shifted("e.at", "c.day")}
        tickets = ", ".join(copy_ticket.get(name, f"t.{name}") for name in ticket_columns)
        events = ", ".join(copy_event.get(name, f"e.{name}") for name in event_columns)
        first_day = 1
        while db.execute("PRAGMA page_count").fetchone()[0] * db.execute("PRAGMA page_size").fetchone()[0] < target:
            copies = f"""WITH RECURSIVE d(day) AS (SELECT {first_day} UNION ALL SELECT day + 1 FROM d
                         WHERE day < {first_day + DAYS_PER_BATCH - 1}),
                     k(r) AS (SELECT 0 UNION ALL SELECT r + 1 FROM k WHERE r < {COPIES_PER_DAY - 1}),
                     c AS (SELECT day, r, (day - 1) * {COPIES_PER_DAY} + r + 1 AS n FROM d, k)"""
            db.execute("BEGIN")
            db.execute(
                f"INSERT INTO ticket ({', '.join(ticket_columns)}) {copies} "
                f"SELECT {tickets} FROM c, ticket t WHERE t.id <= {span} ORDER BY c.n, t.id"
            )
            db.execute(
                f"INSERT INTO ticketevent ({', '.join(event_columns)}) {copies} "
                f"SELECT {events} FROM c, ticketevent e WHERE e.ticket_id <= {span} ORDER BY c.n, e.id"
            )
            db.execute("COMMIT")
            first_day += DAYS_PER_BATCH
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        count = db.execute("SELECT count(*) FROM ticket").fetchone()[0]
    return count, database.stat().st_size


def _luot(instance: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUOT_")}
    env["LUOT_INSTANCE_DIR"] = str(instance)
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


class _Kiosk:
    """Issues a ticket every 1/WRITES_PER_SECOND s through the API until `finish()`; keeps what was acknowledged
    (with time.monotonic() of the answer)."""

    def __init__(self, url: str, token: str) -> None:
        self.api = Api(url, token)
        self.acknowledged: list[tuple[float, dict]] = []
        self.other: list[int] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        due = time.monotonic()
        while not self.stop.is_set():
            answer = self.api.post("/tickets", {"service": "TP-A"}, headers={"Idempotency-Key": uuid.uuid4().hex})
            if answer.status_code == 201:
                self.acknowledged.append((time.monotonic(), answer.json()))
            else:
                self.other.append(answer.status_code)
            due += 1 / WRITES_PER_SECOND
            self.stop.wait(max(0.0, due - time.monotonic()))

    def between(self, start: float, end: float) -> int:
        return len([at for at, _ in list(self.acknowledged) if start <= at <= end])

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(20)
        self.api.close()


def test_a_backup_of_a_500_mib_database_under_25_writes_a_second_completes_and_restores(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "hall")
    world = server.prepare(_template_day)
    assert isinstance(world, World)
    source = server.instance_dir / "luot.sqlite3"
    grown = time.monotonic()
    history, size = _grow(source, TARGET)
    grown = time.monotonic() - grown
    backup = tmp_path / "backups" / "busy.sqlite3"
    fresh = tmp_path / "fresh"
    try:
        server.start(timeout=60)
        kiosk = _Kiosk(server.url, world.kiosk_token)
        try:
            wait_until(lambda: len(kiosk.acknowledged) >= 2 * WRITES_PER_SECOND, 30, "two seconds of writes")
            before = [ticket for _, ticket in list(kiosk.acknowledged)]
            started = time.monotonic()
            made = _luot(server.instance_dir, "backup", str(backup))
            took = time.monotonic() - started
            during = kiosk.between(started, started + took)
        finally:
            kiosk.finish()
        server.stop()
        print(
            f"\nbackup under load: database {size / (1 << 20):.0f} MiB ({history} tickets, grown in {grown:.1f} s), "
            f"`luot backup` {took:.1f} s, {during} tickets issued meanwhile ({during / took:.1f}/s)"
        )
        assert made.returncode == 0, made.stderr
        assert took <= BACKUP_BOUND, f"luot backup took {took:.1f} s"
        assert during >= WRITES_PER_SECOND * took * 0.5, "the writer did not keep writing during the backup"
        assert not [code for code in kiosk.other if code >= 500], kiosk.other

        assert _luot(fresh, "init").returncode == 0
        restored = _luot(fresh, "restore", str(backup))
        assert restored.returncode == 0, restored.stderr
        backup.unlink()  # half a GiB less in tmp_path from here on
        database = fresh / "luot.sqlite3"
        with closing(sqlite3.connect(database)) as db:
            total = db.execute("SELECT count(*) FROM ticket").fetchone()[0]
            day = (_today().isoformat(),)
            today = [n for (n,) in db.execute("SELECT number FROM ticket WHERE service_date = ? ORDER BY number", day)]
            tokens = {t for (t,) in db.execute("SELECT tracking_token FROM ticket WHERE service_date = ?", day)}
        assert f"{total} tickets" in restored.stdout
        assert total == history + len(today)
        assert today == list(range(1001, 1001 + len(today))), "today's numbers in the backup have a gap or a repeat"
        assert len(today) >= len(before) and {t["tracking_token"] for t in before} <= tokens

        again = ServerProcess(fresh)
        again.start(timeout=60)
        try:
            issued = Api(again.url, world.kiosk_token).ok("/tickets", {"service": "TP-A"})
        finally:
            again.stop()
        assert issued["number"] == today[-1] + 1, (issued["display_number"], today[-1])
    finally:
        server.stop()
        for folder in (server.instance_dir, backup.parent, fresh):
            shutil.rmtree(folder, ignore_errors=True)
