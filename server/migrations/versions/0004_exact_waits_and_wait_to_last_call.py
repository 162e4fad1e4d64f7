"""exact waits and wait to the last call in the roll-ups

Adds to both roll-up tables the exact wait samples (`waits`, a blob of sorted uint32 seconds: the p90 is the
nearest rank over them, as live) and the wait to the last call (`wait_last_n`, `wait_last_sum`). Roll-ups are
derived data: the rows rolled up before this revision lack both, so they are removed with their
`stats_rolled_day` markers; the history page rolls the days it needs up again (or `luot stats rollup --all`).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 05:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = ("stats_detail", "stats_hourly")


def upgrade() -> None:
    for table in TABLES:
        op.execute(sa.text(f"DELETE FROM {table}"))
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("wait_last_n", sa.Integer(), nullable=False, server_default="0"))
            batch_op.add_column(sa.Column("wait_last_sum", sa.Integer(), nullable=False, server_default="0"))
            batch_op.add_column(sa.Column("waits", sa.LargeBinary(), nullable=True))
    op.execute(sa.text("DELETE FROM stats_rolled_day"))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("waits")
            batch_op.drop_column("wait_last_sum")
            batch_op.drop_column("wait_last_n")
