"""booked slots: per-service booking settings, holidays, booking codes and capacity (issue 18, helper: bookings)

Service: `bookable`, `online_numbers`, `slot_minutes`, `slot_capacity`, `booking_days_ahead`,
`booking_cutoff_minutes`. Appointment: `status`, `manage_hash` (the confirmation link's secret, hashed),
`channel`, `contact`, `card_key` (the CCCD's person key), `language`, `created_at`, `changed_at`, an index on
(service_id, slot_at).
New tables: `bookingslot` (seats taken per service and slot, the race-safe capacity counter) and
`holiday` (a site's closed days).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 08:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

from server.models import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_TEXT = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    with op.batch_alter_table("service", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bookable", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("online_numbers", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("slot_minutes", sa.Integer(), nullable=False, server_default="15"))
        batch_op.add_column(sa.Column("slot_capacity", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("booking_days_ahead", sa.Integer(), nullable=False, server_default="7"))
        batch_op.add_column(sa.Column("booking_cutoff_minutes", sa.Integer(), nullable=False, server_default="60"))
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", _TEXT(length=16), nullable=False, server_default="booked"))
        batch_op.add_column(sa.Column("manage_hash", _TEXT(length=64), nullable=True))
        batch_op.add_column(sa.Column("channel", _TEXT(length=16), nullable=False, server_default="online"))
        batch_op.add_column(sa.Column("contact", _TEXT(length=200), nullable=True))
        batch_op.add_column(sa.Column("card_key", _TEXT(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_appointment_card_key"), ["card_key"], unique=False)
        batch_op.add_column(sa.Column("language", _TEXT(length=8), nullable=False, server_default="vi"))
        batch_op.add_column(sa.Column("created_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("changed_at", UTCDateTime(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_appointment_manage_hash"), ["manage_hash"])
        batch_op.create_index("ix_appointment_service_slot", ["service_id", "slot_at"], unique=False)
    op.create_table(
        "bookingslot",
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("slot_at", UTCDateTime(), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["service_id"], ["service.id"]),
        sa.PrimaryKeyConstraint("service_id", "slot_at"),
    )
    op.create_table(
        "holiday",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", _TEXT(length=200), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"]),
        sa.PrimaryKeyConstraint("site_id", "day"),
    )


def downgrade() -> None:
    op.drop_table("holiday")
    op.drop_table("bookingslot")
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.drop_index("ix_appointment_service_slot")
        batch_op.drop_index(batch_op.f("ix_appointment_card_key"))
        batch_op.drop_constraint(batch_op.f("uq_appointment_manage_hash"), type_="unique")
        for name in ("changed_at", "created_at", "language", "card_key", "contact", "channel", "manage_hash", "status"):
            batch_op.drop_column(name)
    with op.batch_alter_table("service", schema=None) as batch_op:
        for name in (
            "booking_cutoff_minutes",
            "booking_days_ahead",
            "slot_capacity",
            "slot_minutes",
            "online_numbers",
            "bookable",
        ):
            batch_op.drop_column(name)
