"""booking requests: a repeated booking, move or cancellation is answered once; moves are counted (helper: booking)

Appointment: `request_key` (SHA-256 of who booked and the page's Idempotency-Key, unique), `request_digest`
(SHA-256 of what was asked), `change_key` (SHA-256 of the Idempotency-Key of the last move or cancellation) and
`moves` (how many times the booking was moved: a citizen's link moves it at most MAX_LINK_MOVES times).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 08:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_TEXT = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_key", _TEXT(length=64), nullable=True))
        batch_op.add_column(sa.Column("request_digest", _TEXT(length=64), nullable=True))
        batch_op.add_column(sa.Column("change_key", _TEXT(length=64), nullable=True))
        batch_op.add_column(sa.Column("moves", sa.Integer(), nullable=False, server_default="0"))
        batch_op.create_unique_constraint(batch_op.f("uq_appointment_request_key"), ["request_key"])


def downgrade() -> None:
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_appointment_request_key"), type_="unique")
        for name in ("moves", "change_key", "request_digest", "request_key"):
            batch_op.drop_column(name)
