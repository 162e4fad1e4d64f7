"""indexes for today's line and the daily cap

The line is built from today's open tickets of a site (`service_date, site_id, status`), and the daily cap
counts a service's tickets of the day (`origin_service_id, service_date`): both read a few rows through an index
instead of scanning the day's tickets (issue 13: nothing on the issue or call path may cost more as the day
grows). Plain B-tree indexes: the same on SQLite and PostgreSQL.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 05:05:00
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_ticket_day_site_status", "ticket", ["service_date", "site_id", "status"])
    op.create_index("ix_ticket_origin_day", "ticket", ["origin_service_id", "service_date"])


def downgrade() -> None:
    op.drop_index("ix_ticket_origin_day", table_name="ticket")
    op.drop_index("ix_ticket_day_site_status", table_name="ticket")
