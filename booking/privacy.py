"""What the purge (server/privacy/purge.py) clears of bookings, besides `appointment.person_key`:

- `appointment.contact` (the phone or e-mail given for the booking's messages, in clear): emptied once the
  booking's day is over (no message about it is sent after that day);
- `appointment.card_key` (the keyed hash of the CCCD number, for check-in with the ID card): set to NULL for
  bookings whose slot is older than N days, like the other person keys.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col

from server.models import Appointment
from server.privacy.purge import PurgeRule, PurgeWindow, register


def _contacts(session: Session, window: PurgeWindow) -> int:
    statement = (
        sa.update(Appointment)
        .where(col(Appointment.contact).is_not(None), col(Appointment.slot_at) < window.finished_before)
        .values(contact=None)
    )
    return int(getattr(session.execute(statement), "rowcount", 0) or 0)


def _card_keys(session: Session, window: PurgeWindow) -> int:
    statement = (
        sa.update(Appointment)
        .where(col(Appointment.card_key).is_not(None), col(Appointment.slot_at) < window.keys_before)
        .values(card_key=None)
    )
    return int(getattr(session.execute(statement), "rowcount", 0) or 0)


def register_rules() -> None:
    register(PurgeRule("appointment.contact", "set to NULL once the booking's day is over", _contacts))
    register(PurgeRule("appointment.card_key", "set to NULL for bookings whose slot is older than N days", _card_keys))
