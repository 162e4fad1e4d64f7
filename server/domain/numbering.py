"""Daily ticket numbers: one row per (sequence, local date), bumped atomically in the ticket's transaction."""

from __future__ import annotations

from datetime import date

from sqlalchemy import bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import Executable
from sqlmodel import Session

from server.domain.errors import NumbersExhausted
from server.domain.prepared import Prepared
from server.models import DailyNumber, NumberSequence, table_of


def _upsert(dialect: str) -> Executable:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = table_of(DailyNumber)
    return (
        insert(table)
        .values(sequence_id=bindparam("sequence_id"), service_date=bindparam("service_date"), last_value=1)
        .on_conflict_do_update(
            index_elements=[table.c.sequence_id, table.c.service_date],
            set_={"last_value": table.c.last_value + 1},
        )
        .returning(table.c.last_value)
    )


#: Built once (issued every ticket); prebuilt statements (`server.domain.prepared`): on SQLite run on the driver, in
#: the transaction the ticket's write began there (no SQLAlchemy Core execution, no transaction taken over by it).
_UPSERTS = {"postgresql": Prepared(_upsert("postgresql")), "sqlite": Prepared(_upsert("sqlite"))}


def allocate_number(session: Session, sequence: NumberSequence, service_date: date) -> int:
    """The next number of `sequence` on `service_date`; rolls back with the ticket if it fails."""
    connection = session.connection()
    bumped = _UPSERTS[connection.dialect.name].values(
        connection, {"sequence_id": sequence.id, "service_date": service_date}
    )
    assert bumped is not None, "an upsert … RETURNING returns its row"
    ordinal = int(bumped[0])
    number = sequence.first_number + ordinal - 1
    if number > sequence.last_number:
        raise NumbersExhausted()
    return number


def display_number(sequence: NumberSequence, number: int) -> str:
    width = len(str(sequence.last_number))
    return f"{sequence.prefix}{number:0{width}d}" if sequence.prefix else str(number)
