"""Backups with retention, restore into a fresh instance (tickets counted), and `luot upgrade` of a database made
by the first migration with a day of data: every ticket and event is still there, and a backup was taken."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from server.clock import LOCAL_TZ
from server.commands import initialise
from server.db import Database
from server.domain import errors, queueing
from server.migrate import upgrade
from server.ops.backups import backup_into, count_rows
from server.ops.guards import ServeLock, check_revision, code_revisions
from server.process import ServerProcess
from server.settings import Settings, load_settings
from tests.support.world import build_world

ROOT = Path(__file__).resolve().parents[2]
MORNING = datetime(2026, 11, 18, 8, 0, tzinfo=LOCAL_TZ)


def luot(instance: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUOT_")}
    env["LUOT_INSTANCE_DIR"] = str(instance)
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def a_day_of_tickets(db: Database, citizens: int = 40) -> None:
    """Issues `citizens` tickets from 08:00, one every 6 minutes; two counters call, start and finish them."""
    world = build_world(db)
    clerks = [(world.counters["c1"], world.users["clerk1"]), (world.counters["c2"], world.users["clerk2"])]
    with db.write() as session:
        for counter_id, user_id in clerks:
            queueing.open_counter(session, MORNING, counter_id, user_id)
    for n in range(citizens):
        now = MORNING + timedelta(minutes=6 * n)
        with db.write() as session:
            queueing.issue_ticket(session, now, site_id=world.site_id, service_code="TP-A")
        counter_id, user_id = clerks[n % 2]
        with db.write() as session:
            try:
                queueing.call_next(session, now + timedelta(minutes=1), counter_id, user_id)
                queueing.start(session, now + timedelta(minutes=2), counter_id, user_id)
                queueing.finish(session, now + timedelta(minutes=5), counter_id, user_id)
            except errors.DomainError:
                pass


def rows(database: Path, table: str, columns: list[str] | None = None) -> list[tuple]:
    listed = ", ".join(f'"{c}"' for c in columns) if columns else "*"
    with closing(sqlite3.connect(database)) as connection:
        return connection.execute(f'SELECT {listed} FROM "{table}" ORDER BY id').fetchall()


def columns_of(database: Path, table: str) -> list[str]:
    with closing(sqlite3.connect(database)) as connection:
        return [row[1] for row in connection.execute(f'PRAGMA table_info("{table}")')]


def copy_into_older_schema(source: Path, target: Path) -> None:
    """Copies every row of `source` (today's schema) into `target` (an older revision's schema), column by column
    as far as the older tables have them: a database as the older code would have written it."""
    with closing(sqlite3.connect(target)) as connection:
        connection.execute("ATTACH DATABASE ? AS source", (str(source),))
        tables = [
            name
            for (name,) in connection.execute("SELECT name FROM main.sqlite_master WHERE type = 'table'")
            if name != "alembic_version" and not name.startswith("sqlite_")
        ]
        connection.execute("PRAGMA foreign_keys = OFF")
        for table in tables:
            wanted = [c for c in columns_of(target, table) if c in columns_of(source, table)]
            listed = ", ".join(f'"{c}"' for c in wanted)
            connection.execute(f'INSERT INTO main."{table}" ({listed}) SELECT {listed} FROM source."{table}"')
        connection.commit()


@pytest.mark.slow
def test_backups_keep_the_newest_and_restore_into_a_fresh_instance(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "hall")
    server.prepare(a_day_of_tickets)
    server.start()  # backups are taken while the server runs
    try:
        made = luot(server.instance_dir, "backup", "--dir", str(tmp_path / "backups"), "--keep", "2")
        assert made.returncode == 0, made.stderr
        source = server.instance_dir / "luot.sqlite3"
        for hour in (1, 2, 3):
            backup_into(source, tmp_path / "backups", keep=2, now=datetime(2020, 1, 1, hour))
    finally:
        server.stop()
    kept = sorted(p.name for p in (tmp_path / "backups").glob("luot-*.sqlite3"))
    assert len(kept) == 2 and kept[0] == "luot-20200101-030000.sqlite3", kept  # the CLI's (today) is the newest
    newest = tmp_path / "backups" / kept[-1]
    tickets = count_rows(source, "ticket")
    assert tickets == 40 and count_rows(newest, "ticket") == tickets

    fresh = load_settings(environ={}, instance_dir=str(tmp_path / "fresh"))
    initialise(fresh)
    assert count_rows(fresh.instance_path / "luot.sqlite3", "ticket") == 0
    lock = ServeLock.for_settings(fresh)
    assert lock is not None
    lock.acquire()  # as a running server would
    refused = luot(fresh.instance_path, "restore", str(newest))
    assert refused.returncode == 1 and "another Lượt server" in refused.stderr, refused.stderr
    lock.release()
    restored = luot(fresh.instance_path, "restore", str(newest))
    assert restored.returncode == 0, restored.stderr
    assert f"{tickets} tickets" in restored.stdout
    assert rows(fresh.instance_path / "luot.sqlite3", "ticketevent") == rows(source, "ticketevent")
    check_revision(fresh.resolved_database_url)  # the restored instance would serve

    damaged = tmp_path / "damaged.sqlite3"
    damaged.write_bytes(b"not a database" * 100)
    assert luot(fresh.instance_path, "restore", str(damaged)).returncode == 1


@pytest.mark.slow
def test_upgrade_from_the_first_migration_keeps_every_ticket_and_event(tmp_path: Path) -> None:
    today: Settings = load_settings(environ={}, instance_dir=str(tmp_path / "today"))
    initialise(today)
    db = Database(today)
    a_day_of_tickets(db)  # written by today's code, then moved into the first schema as far as it has columns
    db.dispose()
    settings: Settings = load_settings(environ={}, instance_dir=str(tmp_path / "old"))
    settings.instance_path.mkdir(parents=True)
    (settings.instance_path / "secret_key").write_text("k" * 64)
    upgrade(settings.resolved_database_url, "0001")
    database = settings.instance_path / "luot.sqlite3"
    copy_into_older_schema(today.instance_path / "luot.sqlite3", database)
    first = {table: columns_of(database, table) for table in ("ticket", "ticketevent")}
    before = {table: rows(database, table, first[table]) for table in first}
    assert len(before["ticket"]) == 40 and len(before["ticketevent"]) > 100

    done = luot(settings.instance_path, "upgrade", "--backup-dir", str(tmp_path / "backups"))
    assert done.returncode == 0, done.stderr
    head = code_revisions()[0]
    assert f"upgraded from 0001 to {head}" in done.stdout
    assert check_revision(settings.resolved_database_url) == head
    assert {table: rows(database, table, first[table]) for table in before} == before
    (backup,) = (tmp_path / "backups").glob("pre-upgrade-0001-*.sqlite3")
    assert rows(backup, "ticket", first["ticket"]) == before["ticket"]
    again = luot(settings.instance_path, "upgrade", "--backup-dir", str(tmp_path / "backups"))
    assert again.returncode == 0 and "already at revision" in again.stdout
    assert len(list((tmp_path / "backups").glob("*.sqlite3"))) == 1  # nothing to back up when nothing changes
