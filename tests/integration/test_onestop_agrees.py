"""The one-stop export says what the statistics say (a director's check against the database found it did not):
service time without Start, a past day's open ticket, a transferred ticket, a year's worth of tickets."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime

import pytest

from server.clock import LOCAL_TZ, local_date
from server.domain.queueing import (
    attach_dossiers,
    call_next,
    finish,
    hold,
    issue_ticket,
    open_counter,
    return_ticket,
    start,
    transfer,
)
from server.stats.onestop import onestop_rows

DAY = date(2026, 11, 18)


@pytest.fixture
def clerk1(run, world):
    run(open_counter, world.counters["c1"], world.users["clerk1"])
    return world.counters["c1"], world.users["clerk1"]


def _export(luot, clock, day: date = DAY) -> dict[int, dict]:
    with luot.db.read() as session:
        rows = onestop_rows(session, day, day, [1], local_date(clock.now()))
    return {row["ticket_id"]: row for row in rows}


def test_a_service_finished_without_start_lasts_from_its_last_call(run, world, luot, clock, clerk1):
    counter, clerk = clerk1
    plain = run(issue_ticket, site_id=world.site_id, service_code="TP-A").ticket
    run(call_next, counter, clerk)
    clock.advance(minutes=3)
    run(finish, counter, clerk)  # no Start: the service began at the call
    back = run(issue_ticket, site_id=world.site_id, service_code="TP-A").ticket
    run(call_next, counter, clerk)
    run(start, counter, clerk)
    clock.advance(minutes=4)
    run(hold, counter, clerk, "đi photo")
    clock.advance(minutes=10)
    run(return_ticket, back.id, clerk)
    run(call_next, counter, clerk)
    clock.advance(minutes=2)
    run(finish, counter, clerk)  # called again, no new Start: 2 minutes, not 0 and not 16
    rows = _export(luot, clock)
    assert rows[plain.id]["service_minutes"] == 3.0
    assert rows[back.id]["service_minutes"] == 2.0


def test_a_past_days_open_ticket_is_exported_cancelled_before_the_day_close_runs(run, world, luot, clock):
    clock.set(datetime(2026, 11, 18, 16, 0, tzinfo=LOCAL_TZ))
    left = run(issue_ticket, site_id=world.site_id, service_code="TP-A").ticket
    clock.set(datetime(2026, 11, 19, 8, 0, tzinfo=LOCAL_TZ))  # the close has not run: the row still says waiting
    assert _export(luot, clock)[left.id]["status"] == "cancelled"


def test_a_transferred_ticket_not_called_again_is_served_by_nobody_yet(run, world, luot, clock, clerk1):
    counter, clerk = clerk1
    moved = run(issue_ticket, site_id=world.site_id, service_code="TP-A").ticket
    run(call_next, counter, clerk)
    run(start, counter, clerk)
    run(transfer, counter, clerk, "CA-X")
    row = _export(luot, clock)[moved.id]
    assert (row["counter_number"], row["clerk_username"], row["started_at"]) == (None, "", "")
    assert row["called_at"]  # the first call stays: the wait was
    assert row["status"] == "waiting" and row["service_code"] == "CA-X"


def test_the_export_binds_no_list_of_ticket_ids(run, world, luot, clock, clerk1):
    """A province's year is millions of tickets; SQLite refuses more bound parameters than its limit (250,000
    here, 32,766 by default, 999 on old builds). With the limit set to 20, 30 served tickets still export."""
    counter, clerk = clerk1
    for _ in range(30):
        run(issue_ticket, site_id=world.site_id, service_code="TP-A")
        run(call_next, counter, clerk)
        run(attach_dossiers, counter, clerk, ["000.00.10.H12-251118-0001"])
        run(finish, counter, clerk)
    with luot.db.read() as session:
        driver = session.connection().connection.driver_connection
        assert driver is not None
        previous = driver.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 20)
        try:
            rows = onestop_rows(session, DAY, DAY, [1], DAY)
        finally:
            driver.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, previous)
    assert len(rows) == 30 and all(row["dossier_codes"] == ["000.00.10.H12-251118-0001"] for row in rows)
