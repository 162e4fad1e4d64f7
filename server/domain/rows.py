"""The clerk's hot path as plain SQL statements: rows in, rows out, no ORM unit of work (issue 13).

Call next and start run on every key press of every clerk. Through the ORM each read built an identity-mapped
object and each write went through a flush (a unit of work sorted, diffed and emitted): about two thirds of a call
next's time on the server. Here the same reads and writes are prebuilt statements (`server.domain.prepared`: on
SQLite run straight on the DBAPI connection, converted by the columns' own types) on the use case's own
connection (its write transaction: BEGIN IMMEDIATE on SQLite), and rows are plain records
(`types.SimpleNamespace`, the table's column names as attributes) that `queries.ticket_view` and
`queries.counter_view` read like model objects.

Shapes: `ticket_row` → a record or None; `counter_with_ticket` → (the counter's record or None, its current
ticket's record or None); `claim` → the claimed ticket's record or None; `append_event` → the new
`ticketevent.id`; `EventBatch.write` → the new ids, in the order the events were added. Raises nothing of its own:
database errors propagate to the Runner (as SQLAlchemy's exceptions on every dialect).
"""

from __future__ import annotations

import functools
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlmodel import Session

from server.domain.prepared import Prepared, record
from server.domain.vocabulary import EventKind, TicketStatus
from server.models import Counter, NumberSequence, Service, Ticket, TicketEvent

_TICKET = Ticket.__table__  # type: ignore[attr-defined]
_COUNTER = Counter.__table__  # type: ignore[attr-defined]
_EVENT = TicketEvent.__table__  # type: ignore[attr-defined]
_SERVICE = Service.__table__  # type: ignore[attr-defined]
_SEQUENCE = NumberSequence.__table__  # type: ignore[attr-defined]

_TICKET_BY_ID = Prepared(select(_TICKET).where(_TICKET.c.id == bindparam("id")))
_SERVICE_BY_CODE = Prepared(
    select(_SERVICE).where(_SERVICE.c.site_id == bindparam("site_id"), _SERVICE.c.code == bindparam("code"))
)
_SEQUENCE_BY_ID = Prepared(select(_SEQUENCE).where(_SEQUENCE.c.id == bindparam("id")))
_COUNTER_COLUMNS = tuple(column.name for column in _COUNTER.c)
_TICKET_COLUMNS = tuple(column.name for column in _TICKET.c)
_COUNTER_WITH_TICKET = Prepared(
    select(*_COUNTER.c, *(column.label(f"current_{column.name}") for column in _TICKET.c))
    .select_from(_COUNTER.outerjoin(_TICKET, _TICKET.c.id == _COUNTER.c.current_ticket_id))
    .where(_COUNTER.c.id == bindparam("id"))
)
_LOCK_WAITING = (
    select(_TICKET.c.id)
    .where(_TICKET.c.id == bindparam("ticket_id"), _TICKET.c.status == TicketStatus.WAITING)
    .with_for_update(skip_locked=True)
)
_CLAIM = Prepared(
    update(_TICKET)
    .where(_TICKET.c.id == bindparam("ticket_id"), _TICKET.c.status == TicketStatus.WAITING)
    .values(
        status=TicketStatus.CALLED,
        counter_id=bindparam("counter_id"),
        clerk_id=bindparam("clerk_id"),
        called_at=bindparam("now"),
        first_called_at=func.coalesce(_TICKET.c.first_called_at, bindparam("now")),
        recall_count=0,  # a new call: its own recalls (a transferred or returned citizen had used some)
        started_at=None,  # and its own service: an earlier period (before a hold or transfer) is not this one
    )
    .returning(*_TICKET.c)
)


def _insert(table: Any) -> Prepared:
    """INSERT of every column but `id` (parameters `v_<column>`) RETURNING the new id."""
    columns = [column.name for column in table.c if column.name != "id"]
    return Prepared(insert(table).values({c: bindparam(f"v_{c}") for c in columns}).returning(table.c.id))


_INSERT_TICKET = _insert(_TICKET)
_INSERT_EVENT = _insert(_EVENT)


def counter_with_ticket(
    connection: Connection, counter_id: int
) -> tuple[SimpleNamespace | None, SimpleNamespace | None]:
    """(the counter's row, the row of the ticket its `current_ticket_id` names) in one statement, each None when
    there is none: one statement on every key press where a counter read and a ticket read were two."""
    values = _COUNTER_WITH_TICKET.values(connection, {"id": counter_id})
    if values is None:
        return None, None
    split = len(_COUNTER_COLUMNS)
    counter = record(_COUNTER_COLUMNS, values[:split])
    if values[split] is None:  # current_id: no ticket joined
        return counter, None
    return counter, record(_TICKET_COLUMNS, values[split:])


def ticket_row(connection: Connection, ticket_id: int) -> SimpleNamespace | None:
    """The ticket's row (every column of `ticket`), or None."""
    return _TICKET_BY_ID.first(connection, {"id": ticket_id})


def service_row(connection: Connection, site_id: int, code: str) -> SimpleNamespace | None:
    """The site's service `code` (every column of `service`, active or not), or None."""
    return _SERVICE_BY_CODE.first(connection, {"site_id": site_id, "code": code})


def sequence_row(connection: Connection, sequence_id: int) -> SimpleNamespace | None:
    """The number sequence's row, or None."""
    return _SEQUENCE_BY_ID.first(connection, {"id": sequence_id})


def insert_ticket(connection: Connection, **values: Any) -> SimpleNamespace:
    """Inserts a ticket with `values` (every column but `id`, the model's defaults for those left out) and returns
    it as a record with its new id."""
    columns = {**_ticket_defaults(), **values}
    new_id = _INSERT_TICKET.new_id(connection, {f"v_{name}": value for name, value in columns.items()})
    return SimpleNamespace(id=new_id, **columns)


@functools.cache
def _ticket_defaults() -> dict[str, Any]:
    return {column.name: _default(column) for column in _TICKET.c if column.name != "id"}


def _default(column: Any) -> Any:
    """The model's Python-side default of a ticket column (the same ones an ORM insert would write)."""
    field = Ticket.model_fields.get(column.name)
    if field is None or field.is_required():
        return None
    return field.get_default(call_default_factory=True)


def claim(
    connection: Connection, ticket_id: int, counter_id: int, clerk_id: int, now: datetime
) -> SimpleNamespace | None:
    """Calls a waiting ticket to the counter only if it is still waiting: one conditional UPDATE … RETURNING (on
    PostgreSQL after taking its row lock, skipping a row another counter is claiming). The call starts afresh: its
    recalls count from 0 (the recall limit applies per call) and `started_at` is cleared (the service time is this
    call's). The ticket as the UPDATE left it, or None when another counter had it."""
    locking = connection.dialect.name == "postgresql"
    if locking and connection.execute(_LOCK_WAITING, {"ticket_id": ticket_id}).first() is None:
        return None
    params = {"ticket_id": ticket_id, "counter_id": counter_id, "clerk_id": clerk_id, "now": now}
    return _CLAIM.first(connection, params)


@functools.cache
def _update(table: Any, columns: tuple[str, ...]) -> Prepared:
    """UPDATE `table` SET each of `columns` WHERE id = :row_id, built once per column set (compiled once)."""
    statement = update(table).where(table.c.id == bindparam("row_id")).values({c: bindparam(f"v_{c}") for c in columns})
    return Prepared(statement)


def save_ticket(connection: Connection, ticket: SimpleNamespace, *columns: str) -> None:
    """Writes `columns` of the ticket record to its row."""
    params = {f"v_{c}": getattr(ticket, c) for c in columns}
    _update(_TICKET, columns).run(connection, {"row_id": ticket.id, **params})


def save_counter(connection: Connection, counter: SimpleNamespace, *columns: str) -> None:
    """Writes `columns` of the counter record to its row."""
    params = {f"v_{c}": getattr(counter, c) for c in columns}
    _update(_COUNTER, columns).run(connection, {"row_id": counter.id, **params})


def append_event(
    connection: Connection,
    ticket: SimpleNamespace,
    kind: EventKind,
    now: datetime,
    counter_id: int | None,
    user_id: int | None,
    **data: object,
) -> int:
    """Appends one `ticketevent` for the ticket (its site, service and agency as they are now), as
    `ticket_log.log_event` does; returns its id (a call's id is made of it)."""
    return _INSERT_EVENT.new_id(connection, _event_values("v_", ticket, kind, now, counter_id, user_id, data))


class EventBatch:
    """A transaction's ticket events, appended together in one INSERT (`write`) in the order they were added: a
    call next that finishes the citizen served before appends two or three events, and each statement costs
    about as much again on every key press (issue 13)."""

    def __init__(self) -> None:
        self._rows: list[tuple[SimpleNamespace, EventKind, datetime, int | None, int | None, dict[str, object]]] = []

    def add(
        self,
        ticket: SimpleNamespace,
        kind: EventKind,
        now: datetime,
        counter_id: int | None,
        user_id: int | None,
        **data: object,
    ) -> None:
        """One event as `append_event` would write it, written by `write`."""
        self._rows.append((ticket, kind, now, counter_id, user_id, data))

    def write(self, connection: Connection) -> list[int]:
        """Appends the events added (none: nothing) and returns their ids in the order they were added: rows of one
        INSERT are numbered in the order of its VALUES (SQLite's rowid, PostgreSQL's sequence), so ascending."""
        if not self._rows:
            return []
        params: dict[str, object] = {}
        for index, (ticket, kind, now, counter_id, user_id, data) in enumerate(self._rows):
            params.update(_event_values(f"v{index}_", ticket, kind, now, counter_id, user_id, data))
        ids = sorted(int(row.id) for row in _insert_events(len(self._rows)).all(connection, params))
        self._rows = []
        return ids


def _event_values(
    prefix: str,
    ticket: SimpleNamespace,
    kind: EventKind,
    now: datetime,
    counter_id: int | None,
    user_id: int | None,
    data: dict[str, object],
) -> dict[str, object]:
    return {
        f"{prefix}ticket_id": ticket.id,
        f"{prefix}site_id": ticket.site_id,
        f"{prefix}kind": kind,
        f"{prefix}at": now,
        f"{prefix}service_id": ticket.service_id,
        f"{prefix}agency_id": ticket.agency_id,
        f"{prefix}counter_id": counter_id,
        f"{prefix}user_id": user_id,
        f"{prefix}data": dict(data),
    }


@functools.cache
def _insert_events(count: int) -> Prepared:
    """INSERT of `count` events (parameters `v<i>_<column>`) RETURNING their ids, built once per count."""
    columns = [column for column in _EVENT.c if column.name != "id"]
    # each with its column's type: past the first row, SQLAlchemy does not give a bound value its column's type
    rows = [{c.name: bindparam(f"v{index}_{c.name}", type_=c.type) for c in columns} for index in range(count)]
    return Prepared(insert(_EVENT).values(rows).returning(_EVENT.c.id))


def forget_loaded(session: Session, counter_ids: set[int], ticket_ids: set[int]) -> None:
    """Expires the session's own copies of rows written here (a session that loaded them before would otherwise
    keep the old values). The Runner's sessions are new per use case, so this usually finds nothing."""
    for obj in list(session.identity_map.values()):
        if (isinstance(obj, Counter) and obj.id in counter_ids) or (isinstance(obj, Ticket) and obj.id in ticket_ids):
            session.expire(obj)
