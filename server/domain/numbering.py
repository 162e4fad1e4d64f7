"""Daily ticket numbers: one row per (sequence, local date), bumped atomically in the ticket's transaction."""

from __future__ import annotations

from datetime import date

from sqlalchemy import bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import Executable
from sqlmodel import Session

from server.domain.errors import NumbersExhausted
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


_UPSERTS = {"postgresql": _upsert("postgresql"), "sqlite": _upsert("sqlite")}  # built once: issued every ticket


def allocate_number(session: Session, sequence: NumberSequence, service_date: date) -> int:
    """The next number of `sequence` on `service_date`; rolls back with the ticket if it fails."""
    connection = session.connection()
    statement = _UPSERTS[connection.dialect.name]
    ordinal = connection.execute(statement, {"sequence_id": sequence.id, "service_date": service_date}).scalar_one()
    number = sequence.first_number + ordinal - 1
    if number > sequence.last_number:
        raise NumbersExhausted()
    return number


def display_number(sequence: NumberSequence, number: int) -> str:
    width = len(str(sequence.last_number))
    return f"{sequence.prefix}{number:0{width}d}" if sequence.prefix else str(number)
