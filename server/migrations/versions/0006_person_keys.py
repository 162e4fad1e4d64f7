"""person keys on tickets and appointments (issue 18)

Adds `ticket.person_key` and `appointment.person_key`: the keyed hash of the phone or ID number a
citizen identified with (server/identity/citizen.py), for per-person limits across kiosk, online
numbers and bookings. Null for anonymous kiosk numbers.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 08:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("person_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.create_index("ix_ticket_person_day", ["person_key", "service_date"], unique=False)
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("person_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_appointment_person_key"), ["person_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appointment_person_key"))
        batch_op.drop_column("person_key")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_person_day")
        batch_op.drop_column("person_key")
