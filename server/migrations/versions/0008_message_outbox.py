"""the message outbox: queued messages to citizens, their delivery status, and ticket watches (issue 18, helper:
messages)

Adds `outboxmessage` (a message queued in the transaction that caused it, sent later by
server/messaging/worker.py; `dedupe_key` unique so each is queued once) and `ticketwatch` (a citizen's wish to be
told when 3 are ahead and/or when called). Both hold a phone number or e-mail address in clear until the privacy
purge removes it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 08:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import server.models

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "outboxmessage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("kind", _text(32), nullable=False),
        sa.Column("channel", _text(16), nullable=False),
        sa.Column("address", _text(254), nullable=False),
        sa.Column("language", _text(8), nullable=False),
        sa.Column("params", sa.JSON(), nullable=True),
        sa.Column("text", _text(2000), nullable=False),
        sa.Column("dedupe_key", _text(160), nullable=False),
        sa.Column("status", _text(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", server.models.UTCDateTime(), nullable=False),
        sa.Column("created_at", server.models.UTCDateTime(), nullable=False),
        sa.Column("sent_at", server.models.UTCDateTime(), nullable=True),
        sa.Column("last_error", _text(500), nullable=False),
        sa.Column("provider_message_id", _text(128), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"]),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"]),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointment.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    with op.batch_alter_table("outboxmessage", schema=None) as batch_op:
        batch_op.create_index("ix_outboxmessage_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index("ix_outboxmessage_site_status", ["site_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_outboxmessage_ticket_id"), ["ticket_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outboxmessage_appointment_id"), ["appointment_id"], unique=False)
    op.create_table(
        "ticketwatch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("address", _text(254), nullable=False),
        sa.Column("language", _text(8), nullable=False),
        sa.Column("near_turn", sa.Boolean(), nullable=False),
        sa.Column("called", sa.Boolean(), nullable=False),
        sa.Column("near_queued", sa.Boolean(), nullable=False),
        sa.Column("called_queued", sa.Boolean(), nullable=False),
        sa.Column("created_at", server.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"]),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id"),
    )
    with op.batch_alter_table("ticketwatch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticketwatch_site_id"), ["site_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ticketwatch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticketwatch_site_id"))
    op.drop_table("ticketwatch")
    with op.batch_alter_table("outboxmessage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outboxmessage_appointment_id"))
        batch_op.drop_index(batch_op.f("ix_outboxmessage_ticket_id"))
        batch_op.drop_index("ix_outboxmessage_site_status")
        batch_op.drop_index("ix_outboxmessage_due")
    op.drop_table("outboxmessage")
