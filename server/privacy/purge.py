"""The purge of personal data of finished days: a registry of rules, each clearing one kind of column or row.

Two retention classes (README, "Personal data"):
- **clear contacts** (a phone number or e-mail address in clear, and texts that contain a code): kept only while a
  message may still be sent, i.e. until the local day they belong to is over; each purge clears those of days
  before today, whatever `older_than_days`.
- **coded identifiers** (person keys: keyed hashes of a phone or ID number, used for per-person limits) are kept
  `older_than_days` full days after their day (`LUOT_PRIVACY_DAYS`, 30 by default) so a centre can answer a
  citizen's question or complaint about that day, then set to NULL.

Rules never delete tickets, bookings or statistics: they become anonymous. Other parts of Lượt add their
columns with `register()` (a rule is a name, a sentence for the README and a function over a session and the
`PurgeWindow`, returning the rows it changed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from server.clock import local_date, local_midnight
from server.models import Appointment, OneTimeCode, OutboxMessage, Ticket, TicketWatch


@dataclass(frozen=True)
class PurgeWindow:
    """`today`: the local date of the run; `finished_before`: its local midnight (UTC-aware; everything of earlier
    days is finished); `keys_before_day` / `keys_before`: person keys of days before this are removed."""

    today: date
    finished_before: datetime
    keys_before_day: date
    keys_before: datetime

    @classmethod
    def at(cls, now: datetime, older_than_days: int) -> PurgeWindow:
        """The window of a run at `now` keeping person keys for `older_than_days` (≥ 0) days after their day."""
        if older_than_days < 0:
            raise ValueError("older_than_days must be 0 or more")
        today = local_date(now)
        keys_day = today - timedelta(days=older_than_days)
        return cls(today, local_midnight(today), keys_day, local_midnight(keys_day))


@dataclass(frozen=True)
class PurgeRule:
    """One column or table the purge clears: `name` ("table.column"), `what` (for the README), `run`."""

    name: str
    what: str
    run: Callable[[Session, PurgeWindow], int]


RULES: list[PurgeRule] = []


def register(rule: PurgeRule) -> PurgeRule:
    """Adds a rule (a rule of the same name is replaced)."""
    RULES[:] = [r for r in RULES if r.name != rule.name] + [rule]
    return rule


def purge(session: Session, now: datetime, older_than_days: int) -> dict[str, int]:
    """Runs every rule in the caller's transaction; rule name → rows changed (0 included)."""
    window = PurgeWindow.at(now, older_than_days)
    return {rule.name: rule.run(session, window) for rule in RULES}


def _changed(session: Session, statement: sa.Executable) -> int:
    result: Any = session.execute(statement)
    return int(result.rowcount or 0)


def _ticket_keys(session: Session, window: PurgeWindow) -> int:
    """`person_key > ''` (keys are 64 hex characters) reads the person index (ix_ticket_person_day) from its first
    non-null key, so a run with nothing to do costs nothing however many tickets a year holds; `IS NOT NULL` made
    SQLite walk the service-date index over every past ticket."""
    return _changed(
        session,
        sa.update(Ticket)
        .where(col(Ticket.person_key) > "", col(Ticket.service_date) < window.keys_before_day)
        .values(person_key=None),
    )


def _appointment_keys(session: Session, window: PurgeWindow) -> int:
    return _changed(
        session,
        sa.update(Appointment)
        .where(col(Appointment.person_key).is_not(None), col(Appointment.slot_at) < window.keys_before)
        .values(person_key=None),
    )


def _codes(session: Session, window: PurgeWindow) -> int:
    return _changed(session, sa.delete(OneTimeCode).where(col(OneTimeCode.created_at) < window.finished_before))


def _outbox(session: Session, window: PurgeWindow) -> int:
    """Messages of finished days that will not be sent again (sent or failed) lose address, params and text."""
    return _changed(
        session,
        sa.update(OutboxMessage)
        .where(
            col(OutboxMessage.created_at) < window.finished_before,
            col(OutboxMessage.status).in_(("sent", "failed")),
            col(OutboxMessage.address) != "",
        )
        .values(address="", params={}, text=""),
    )


def _watches(session: Session, window: PurgeWindow) -> int:
    """Driven by the (small) watch table: each watch looks its ticket up by id."""
    finished = (
        sa.select(sa.literal(1))
        .where(col(Ticket.id) == col(TicketWatch.ticket_id), col(Ticket.service_date) < window.today)
        .exists()
    )
    return _changed(session, sa.delete(TicketWatch).where(finished))


for _rule in (
    PurgeRule("ticket.person_key", "set to NULL for tickets of days older than N days", _ticket_keys),
    PurgeRule("appointment.person_key", "set to NULL for bookings whose slot is older than N days", _appointment_keys),
    PurgeRule("onetimecode", "rows deleted once their day is over", _codes),
    PurgeRule(
        "outboxmessage.address/params/text",
        "emptied for messages of finished days that were sent or failed",
        _outbox,
    ),
    PurgeRule("ticketwatch", "rows (with their phone or e-mail) deleted once the ticket's day is over", _watches),
):
    register(_rule)
