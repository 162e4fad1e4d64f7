"""The hot path's prepared statements (`server.domain.prepared`) read and write exactly what Core does.

On SQLite they run on the DBAPI connection; these tests compare every column they read with a Core read of the
same row, on a real SQLite file, and check that errors still arrive as SQLAlchemy's (the Runner's 503 and
retry depend on it).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy import bindparam, select, update

from server.domain import rows
from server.domain.prepared import Prepared
from server.domain.queueing import call_next, issue_ticket, open_counter, start
from server.domain.vocabulary import EventKind
from server.models import Counter, Ticket, TicketEvent

TICKET = Ticket.__table__  # type: ignore[attr-defined]
EVENT = TicketEvent.__table__  # type: ignore[attr-defined]
COUNTER = Counter.__table__  # type: ignore[attr-defined]


def _core_row(connection, table, row_id):
    return dict(connection.execute(select(table).where(table.c.id == row_id)).one()._mapping)


def test_a_ticket_read_raw_equals_the_core_read_column_for_column(luot, world):
    ticket = luot.run(issue_ticket, site_id=world.site_id, service_code="TP-A").ticket
    with luot.db.write() as session:
        connection = session.connection()
        raw = vars(rows.ticket_row(connection, ticket.id))
        core = _core_row(connection, TICKET, ticket.id)
    assert raw == core
    assert raw["issued_at"].tzinfo is UTC and isinstance(raw["service_date"], date)  # the types' own converters


def test_a_counter_with_its_ticket_reads_as_the_two_core_reads(luot, world):
    counter_id = world.counters["c1"]
    luot.run(open_counter, counter_id, world.users["clerk1"])
    with luot.db.write() as session:
        connection = session.connection()
        alone, nobody = rows.counter_with_ticket(connection, counter_id)
        assert vars(alone) == _core_row(connection, COUNTER, counter_id) and nobody is None
        assert rows.counter_with_ticket(connection, 10**9) == (None, None)
    luot.run(issue_ticket, site_id=world.site_id, service_code="TP-A")
    called = luot.run(call_next, counter_id, world.users["clerk1"]).ticket
    with luot.db.write() as session:
        connection = session.connection()
        counter, ticket = rows.counter_with_ticket(connection, counter_id)
        assert vars(counter) == _core_row(connection, COUNTER, counter_id)
        assert ticket is not None and vars(ticket) == _core_row(connection, TICKET, called.id)


def test_a_claim_writes_what_core_reads_back_and_returns_the_row(luot, world):
    ticket = luot.run(issue_ticket, site_id=world.site_id, service_code="TP-A").ticket
    now = datetime(2026, 11, 30, 8, 15, 30, 123456, tzinfo=UTC)
    with luot.db.write() as session:
        connection = session.connection()
        claimed = rows.claim(connection, ticket.id, world.counters["c1"], world.users["clerk1"], now)
        again = rows.claim(connection, ticket.id, world.counters["c2"], world.users["clerk1"], now)
        core = _core_row(connection, TICKET, ticket.id)
        session.rollback()
    assert claimed is not None and again is None  # the second counter finds it taken
    assert vars(claimed) == core
    assert core["status"] == "called" and core["called_at"] == now and core["first_called_at"] == now


def test_an_event_row_keeps_its_json_and_aware_time(luot, world):
    ticket = luot.run(issue_ticket, site_id=world.site_id, service_code="TP-A").ticket
    now = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    with luot.db.write() as session:
        connection = session.connection()
        record = rows.ticket_row(connection, ticket.id)
        event_id = rows.append_event(connection, record, EventKind.CALLED, now, None, None, wait_seconds=42, note="á")
        core = _core_row(connection, EVENT, event_id)
        session.rollback()
    assert core["data"] == {"wait_seconds": 42, "note": "á"} and core["at"] == now and core["kind"] == "called"


def test_a_batch_of_events_is_one_insert_whose_ids_follow_the_order_added(luot, world):
    ticket = luot.run(issue_ticket, site_id=world.site_id, service_code="TP-A").ticket
    now = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    with luot.db.write() as session:
        connection = session.connection()
        record = rows.ticket_row(connection, ticket.id)
        batch = rows.EventBatch()
        assert batch.write(connection) == []  # nothing added: no statement
        for kind, data in ((EventKind.STARTED, {"implicit": True}), (EventKind.FINISHED, {}), (EventKind.CALLED, {})):
            batch.add(record, kind, now, world.counters["c1"], world.users["clerk1"], **data)
        ids = batch.write(connection)
        assert batch.write(connection) == []  # written once
        core = [_core_row(connection, EVENT, event_id) for event_id in ids]
        single = rows.append_event(connection, record, EventKind.CALLED, now, None, None)
        session.rollback()
    assert ids == sorted(ids) and len(set(ids)) == 3 and single > ids[-1]
    assert [row["kind"] for row in core] == ["started", "finished", "called"]
    assert core[0]["data"] == {"implicit": True} and core[1]["data"] == {} and {r["at"] for r in core} == {now}


def test_call_next_logs_the_finish_before_the_call_and_names_the_call_by_its_event(luot, world):
    counter_id, clerk = world.counters["c1"], world.users["clerk1"]
    luot.run(open_counter, counter_id, clerk)
    luot.run(issue_ticket, site_id=world.site_id, service_code="TP-A")
    luot.run(issue_ticket, site_id=world.site_id, service_code="TP-A")
    first = luot.run(call_next, counter_id, clerk)
    luot.run(start, counter_id, clerk)
    second = luot.run(call_next, counter_id, clerk)  # finishes the first, calls the second
    with luot.db.write() as session:
        log = session.connection().execute(select(EVENT).order_by(EVENT.c.id)).all()
    tail = [(row.kind, row.ticket_id) for row in log[-2:]]
    assert tail == [("finished", first.ticket.id), ("called", second.ticket.id)]
    call = next(event for event in second.events if getattr(event, "call_id", None))
    assert call.call_id == f"c{log[-1].id}"


def test_a_constraint_broken_raw_is_raised_as_sqlalchemy_integrity_error(luot, world):
    ticket = luot.run(issue_ticket, site_id=world.site_id, service_code="TP-A").ticket
    with luot.db.write() as session:
        connection = session.connection()
        record = rows.ticket_row(connection, ticket.id)
        record.site_id = 10**9  # no such site: the foreign key refuses it
        with pytest.raises(sa.exc.IntegrityError):
            rows.append_event(connection, record, EventKind.CALLED, datetime.now(UTC), None, None)
        session.rollback()


def test_a_statement_on_a_connection_outside_a_transaction_begins_one(luot, world):
    counter_id = world.counters["c1"]
    floor = select(COUNTER.c.floor).where(COUNTER.c.id == counter_id)
    touch = Prepared(update(COUNTER).where(COUNTER.c.id == bindparam("row_id")).values(floor=bindparam("v")))
    with luot.db.engine.connect() as connection:
        before = connection.execute(floor).scalar()
        connection.rollback()
        assert not connection.in_transaction()
        touch.run(connection, {"row_id": counter_id, "v": (before or 0) + 7})
        assert connection.in_transaction()  # autobegun, as a Core execution would
        connection.rollback()
        assert connection.execute(floor).scalar() == before


def test_a_literal_in_the_statement_is_bound_from_the_statement(luot, world):
    """A value written into the statement (a status compared with) comes from the statement, not the caller."""
    ticket = luot.run(issue_ticket, site_id=world.site_id, service_code="TP-A").ticket
    waiting = Prepared(select(TICKET.c.id).where(TICKET.c.id == bindparam("id"), TICKET.c.status == "waiting"))
    finished = Prepared(select(TICKET.c.id).where(TICKET.c.id == bindparam("id"), TICKET.c.status == "finished"))
    with luot.db.read() as session:
        connection = session.connection()
        assert waiting.first(connection, {"id": ticket.id}).id == ticket.id
        assert finished.first(connection, {"id": ticket.id}) is None


def test_a_name_bound_twice_takes_the_converter_of_its_typed_use_whatever_the_order(luot, world):
    """`now` inside coalesce() has no type of its own; written after the typed use it must still be converted as
    Core converts it (the text format SQLite orders by), not handed to sqlite3 as an aware datetime."""
    ticket = luot.run(issue_ticket, site_id=world.site_id, service_code="TP-A").ticket
    now = datetime(2026, 11, 30, 8, 15, tzinfo=UTC)
    for values in (
        {"called_at": bindparam("now"), "first_called_at": sa.func.coalesce(None, bindparam("now"))},
        {"first_called_at": sa.func.coalesce(None, bindparam("now")), "called_at": bindparam("now")},
    ):
        statement = update(TICKET).where(TICKET.c.id == bindparam("id")).values(values)
        with luot.db.write() as session:
            connection = session.connection()
            Prepared(statement).run(connection, {"id": ticket.id, "now": now})
            stored = connection.exec_driver_sql(
                "SELECT called_at, first_called_at FROM ticket WHERE id = ?", (ticket.id,)
            ).one()
            session.rollback()
        assert stored[0] == stored[1] == "2026-11-30 08:15:00.000000", values


def test_parameters_it_cannot_send_as_core_would_are_refused(luot):
    in_list = Prepared(select(TICKET.c.id).where(TICKET.c.id.in_(bindparam("ids", expanding=True))))
    with luot.db.read() as session, pytest.raises(ValueError, match="expanding or callable"):
        in_list.first(session.connection(), {"ids": [1, 2]})


def test_all_rows_come_in_order_as_core_reads_them_and_the_site_rules_fold_the_calendar(luot, world):
    from server.domain.queries import site_rules
    from server.models import Holiday, Site

    with luot.db.write() as session:
        site = session.get(Site, world.site_id)
        site.settings = {**(site.settings or {}), "holidays": ["2026-09-02"]}
        session.add(site)
        session.add(Holiday(site_id=world.site_id, day=date(2027, 1, 1), name="Tết Dương lịch"))
        session.add(Holiday(site_id=world.site_id, day=date(2026, 9, 2), name="Quốc khánh"))
    for _ in range(3):
        luot.run(issue_ticket, site_id=world.site_id, service_code="TP-A")
    by_number = Prepared(select(TICKET.c.id, TICKET.c.number, TICKET.c.issued_at).order_by(TICKET.c.number.desc()))
    with luot.db.read() as session:
        connection = session.connection()
        raw = [vars(record) for record in by_number.all(connection, {})]
        core = [dict(row._mapping) for row in connection.execute(by_number.statement)]
        rules = site_rules(session, world.site_id)
        nothing = Prepared(select(TICKET.c.id).where(TICKET.c.id == bindparam("id"))).all(connection, {"id": -1})
    assert raw == core and len(raw) == 3 and raw[0]["number"] > raw[-1]["number"]
    assert raw[0]["issued_at"].tzinfo is UTC
    assert nothing == []
    assert sorted(rules.holidays) == ["2026-09-02", "2027-01-01"]  # the table's and the settings', once
