"""The Runner's write transaction (`server.write_transaction`): a Session only when a use case asks for one, one
transaction either way, and a COMMIT on the bare connection clears the "unconfirmed" mark like a Session's."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, g
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from server import commit_outcome
from server.context import Luot
from server.domain.outcome import Outcome
from server.domain.prepared import driver_execute
from server.domain.queueing import call_next, issue_ticket, open_counter
from server.models import Agency, Ticket
from server.runner import StorageUnavailable
from server.write_transaction import WriteTransaction


def _agency_names(settings_path: Path) -> set[str]:
    with sqlite3.connect(settings_path) as connection:
        return {row[0] for row in connection.execute("SELECT name FROM agency")}


def _database_file(luot: Luot) -> Path:
    return Path(luot.db.url.removeprefix("sqlite:///"))


def test_the_clerks_hot_path_runs_without_an_orm_session(luot: Luot, world) -> None:
    made: list[WriteTransaction] = []

    def watching(use_case):
        @functools.wraps(use_case)  # its signature too: the Runner hands `lines` to use cases that take it
        def run(session, now: datetime, *args, **kwargs) -> Outcome:
            made.append(session)
            return use_case(session, now, *args, **kwargs)

        return run

    luot.run(open_counter, world.counters["c1"], world.users["clerk1"])
    issued = luot.run(watching(issue_ticket), site_id=world.site_id, service_code="TP-A", channel="kiosk")
    called = luot.run(watching(call_next), world.counters["c1"], world.users["clerk1"])

    assert called.ticket is not None and issued.ticket is not None and called.ticket.id == issued.ticket.id
    assert [transaction._session for transaction in made] == [None, None]  # no Session was made for them
    with luot.db.read() as session:
        ticket = session.get(Ticket, called.ticket.id)
        assert ticket is not None and ticket.status == "called"


def test_prebuilt_statements_and_the_orm_share_one_transaction(luot: Luot, world) -> None:
    with luot.db.transaction() as transaction:
        connection = transaction.connection()
        connection.execute(text("UPDATE agency SET name = 'Bare ' || name WHERE id = (SELECT min(id) FROM agency)"))
        agency = transaction.exec(select(Agency).order_by(Agency.id)).first()  # the Session is made here
        assert agency is not None and agency.name.startswith("Bare ")  # it sees the connection's own write
        agency.name = "Both " + agency.name
        transaction.add(agency)
    names = _agency_names(_database_file(luot))
    assert any(name.startswith("Both Bare ") for name in names)


@pytest.mark.parametrize("with_session", [False, True])
def test_a_failing_use_case_leaves_nothing_either_way(luot: Luot, world, with_session: bool) -> None:
    before = _agency_names(_database_file(luot))
    assert before
    with pytest.raises(RuntimeError), luot.db.transaction() as transaction:
        transaction.connection().execute(text("UPDATE agency SET name = 'Gone'"))
        if with_session:
            transaction.add(Agency(site_id=world.site_id, code="ZZ", name="Never"))
            transaction.flush()
        raise RuntimeError("the use case failed after writing")
    assert _agency_names(_database_file(luot)) == before


def test_a_bare_commit_that_came_back_is_not_unconfirmed(app: Flask, luot: Luot, world) -> None:
    with app.test_request_context("/"):
        with luot.db.transaction() as transaction:
            transaction.connection().execute(text("UPDATE agency SET name = name"))
            transaction.commit()
        assert not commit_outcome.unconfirmed()
        g.pop("luot_commit_sent", None)

        class Lost(Exception):
            pass

        with pytest.raises(Lost), luot.db.transaction() as transaction:
            transaction.connection().execute(text("UPDATE agency SET name = name"))
            commit_outcome.sending(transaction.connection())  # the engine's commit event, then no answer
            raise Lost()
        assert commit_outcome.unconfirmed()  # the mark stays when the answer never came


@pytest.fixture
def engine_transactions(luot: Luot) -> Iterator[list[str]]:
    """The engine's own begin, commit and rollback events (SQLAlchemy's transactions) on write connections."""
    seen: list[str] = []

    def heard(name: str, conn: Any) -> None:
        if conn.get_execution_options().get("luot_write"):
            seen.append(name)

    listeners = {name: functools.partial(heard, name) for name in TRANSACTION_EVENTS}
    for name, listener in listeners.items():
        event.listen(luot.db.engine, name, listener)
    yield seen
    for name, listener in listeners.items():
        event.remove(luot.db.engine, name, listener)


TRANSACTION_EVENTS = ("begin", "commit", "rollback")


def test_the_clerks_hot_path_begins_and_commits_on_the_driver(luot: Luot, world, engine_transactions) -> None:
    """Issue and call next run BEGIN IMMEDIATE and COMMIT on the DBAPI connection (issue 13): SQLAlchemy's
    transaction machinery is left out, and what they wrote is committed."""
    luot.run(open_counter, world.counters["c1"], world.users["clerk1"])
    assert "begin" in engine_transactions and "commit" in engine_transactions  # an ORM use case: SQLAlchemy's
    engine_transactions.clear()
    issued = luot.run(issue_ticket, site_id=world.site_id, service_code="TP-A", channel="kiosk").ticket
    assert engine_transactions == []
    called = luot.run(call_next, world.counters["c1"], world.users["clerk1"]).ticket
    assert engine_transactions == []
    assert issued is not None and called is not None and called.id == issued.id
    with sqlite3.connect(_database_file(luot)) as other:  # another connection sees both committed
        assert other.execute("SELECT status FROM ticket WHERE id = ?", (called.id,)).fetchone() == ("called",)


def test_a_driver_commit_that_failed_is_unconfirmed_and_leaves_nothing(app: Flask, luot: Luot, world) -> None:
    """A COMMIT sent on the DBAPI connection marks the request as a Session's does, and a COMMIT that raised
    (here a deferred foreign key, checked at COMMIT) keeps the mark and is SQLAlchemy's error, nothing kept."""
    with app.test_request_context("/"):
        with pytest.raises(IntegrityError), luot.db.transaction() as transaction:
            connection = transaction.connection()  # begun on the driver
            driver_execute(connection, "PRAGMA defer_foreign_keys = ON")
            driver_execute(
                connection,
                "INSERT INTO ticketdossier (ticket_id, code, added_at) VALUES (?, ?, ?)",
                (10**9, "ORPHAN", "2026-11-18 02:00:00.000000"),
            )
        assert commit_outcome.unconfirmed()
    with sqlite3.connect(_database_file(luot)) as other:
        assert other.execute("SELECT count(*) FROM ticketdossier WHERE code = 'ORPHAN'").fetchone() == (0,)
    assert luot.run(issue_ticket, site_id=world.site_id, service_code="TP-A", channel="kiosk").ticket is not None


@pytest.mark.parametrize("touch", ["expunge_all", "no_autoflush", "new"])
def test_a_session_that_never_began_leaves_the_connections_writes_committed(luot: Luot, world, touch: str) -> None:
    """A Session made after a write on the connection (for an attribute that begins nothing: `expunge_all`,
    `no_autoflush`, `new`) has no transaction of its own; the connection's write is committed all the same, not
    dropped with the kept connection (found from outside)."""
    with luot.db.transaction() as transaction:
        driver_execute(
            transaction.connection(), "UPDATE agency SET name = 'Kept' WHERE id = (SELECT min(id) FROM agency)"
        )
        if touch == "expunge_all":
            transaction.expunge_all()
        elif touch == "no_autoflush":
            with transaction.no_autoflush:
                pass
        else:
            assert list(transaction.new) == []
        assert transaction.in_transaction()
    assert "Kept" in _agency_names(_database_file(luot))


def test_the_write_transaction_reads_as_an_untouched_session(luot: Luot) -> None:
    with luot.db.transaction() as transaction:
        assert dict(transaction.identity_map) == {}
        transaction.info["x"] = 1
        assert transaction.get_bind() is transaction.connection()
        assert transaction._session is None
        assert isinstance(transaction.session, Session)
        assert transaction.session.info["x"] == 1  # what was said before the Session is kept by it


def _driver(transaction: WriteTransaction) -> sqlite3.Connection:
    return transaction.get_bind().connection.driver_connection  # type: ignore[return-value]  # (begins nothing)


def test_sqlite_writes_share_one_kept_connection_and_a_broken_one_is_replaced(luot: Luot, world) -> None:
    """SQLite's write transactions run on one connection kept between them (issue 13: no pool checkout and reset per
    key press); an error that broke it gets the next write a new one, and nothing of the broken write is kept."""
    with luot.db.transaction() as first:
        kept = _driver(first)
    with luot.db.transaction() as second:
        assert _driver(second) is kept  # the same connection, writes serialised by the write lock
        with luot.db.transaction() as inner:  # a transaction begun inside another gets a pooled connection
            assert _driver(inner) is not kept

    with pytest.raises(RuntimeError), luot.db.transaction() as broken:
        broken.connection().execute(text("UPDATE agency SET name = 'lost' WHERE id = (SELECT min(id) FROM agency)"))
        broken.connection().invalidate()  # as a disconnect error would leave it
        raise RuntimeError("the use case failed")
    assert "lost" not in _agency_names(_database_file(luot))
    with luot.db.transaction() as after:
        assert _driver(after) is not kept
        after.connection().execute(text("UPDATE agency SET name = 'kept' WHERE id = (SELECT min(id) FROM agency)"))
    assert "kept" in _agency_names(_database_file(luot))

    luot.db.dispose()  # the kept connection is closed with the rest (a restore, the end of a command)
    assert luot.db._writer is None
    luot.run(open_counter, world.counters["c1"], world.users["clerk1"])  # and writes go on after it


def test_after_a_write_that_could_not_begin_the_next_one_is_still_one_transaction(
    luot: Luot, world, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A BEGIN IMMEDIATE that gave up (another process held the lock) left SQLAlchemy's side of the kept write
    connection unable to begin again: a later write whose first statement was a plain Core execute ran in autocommit
    and was kept though its use case failed (found from outside). A write after a database error gets a new one."""
    from server import db as db_module

    monkeypatch.setattr(db_module.begin_immediate, "__defaults__", (0.2,))  # give up after 0.2 s, not 30
    holder = sqlite3.connect(_database_file(luot), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's write in progress
    try:
        with pytest.raises(StorageUnavailable):  # 503: nothing was recorded
            luot.run(issue_ticket, site_id=world.site_id, service_code="TP-A", channel="kiosk")
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    with pytest.raises(RuntimeError), luot.db.transaction() as failing:
        failing.connection().execute(text("UPDATE agency SET name = 'PARTIAL' WHERE id = (SELECT min(id) FROM agency)"))
        raise RuntimeError("the use case failed after its first statement")
    assert "PARTIAL" not in _agency_names(_database_file(luot))
    assert luot.run(issue_ticket, site_id=world.site_id, service_code="TP-A", channel="kiosk").ticket is not None
