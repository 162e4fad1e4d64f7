"""the message outbox: contacts, queued messages, delivery status (issue 18, helper: messages)

Reserved in the chain so the three parts of issue 18 can land in any order; the part that owns it fills
in upgrade() and downgrade().

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 08:30:00
"""

from __future__ import annotations

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
