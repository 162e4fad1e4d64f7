"""booked slots: per-service booking settings, holidays, booking codes and capacity (issue 18, helper: bookings)

Reserved in the chain so the three parts of issue 18 can land in any order; the part that owns it fills
in upgrade() and downgrade().

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 08:30:00
"""

from __future__ import annotations

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
