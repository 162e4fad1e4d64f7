"""citizen identity: one-time codes, sign-in records, privacy (issue 18, helper: identity)

Reserved in the chain so the three parts of issue 18 can land in any order; the part that owns it fills
in upgrade() and downgrade().

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 08:30:00
"""

from __future__ import annotations

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
