"""citizen ratings: reasons, dossier codes

Adds `rating.reasons` (the reason chips chosen after a negative score, a JSON list), an index on
`rating (site_id, at)` for today's negative ratings, and `ticketdossier`: the one-stop dossier codes (mã hồ
sơ) a clerk attaches to a ticket. Statistics now count only citizen ratings (tablet, phone); when the
database holds `staff` ratings, the roll-ups that may have counted them are removed with their
`stats_rolled_day` markers, and the history page rolls the days it needs up again (or
`luot stats rollup --all`).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import server.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rating", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reasons", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.create_index("ix_rating_site_at", ["site_id", "at"], unique=False)
    op.create_table(
        "ticketdossier",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("added_at", server.models.UTCDateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id", "code", name="uq_ticketdossier_code"),
    )
    with op.batch_alter_table("ticketdossier", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticketdossier_code"), ["code"], unique=False)
        batch_op.create_index(batch_op.f("ix_ticketdossier_ticket_id"), ["ticket_id"], unique=False)
    staff = op.get_bind().execute(sa.text("SELECT count(*) FROM rating WHERE source = 'staff'")).scalar()
    if staff:
        for table in ("stats_detail", "stats_hourly", "stats_rolled_day"):
            op.execute(sa.text(f"DELETE FROM {table}"))


def downgrade() -> None:
    with op.batch_alter_table("ticketdossier", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticketdossier_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_ticketdossier_code"))
    op.drop_table("ticketdossier")
    with op.batch_alter_table("rating", schema=None) as batch_op:
        batch_op.drop_index("ix_rating_site_at")
        batch_op.drop_column("reasons")
