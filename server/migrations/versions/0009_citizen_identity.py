"""citizen identity: one-time codes (issue 18, helper: identity)

Adds `onetimecode`: the one-time codes sent to a citizen's phone, stored as an HMAC of the code against the
phone's person key (never the phone or the code in clear), with expiry, attempts and use; purged with the
citizen's other personal data (server/privacy/purge.py).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 08:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import server.models

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "onetimecode",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("phone_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", server.models.UTCDateTime(), nullable=False),
        sa.Column("expires_at", server.models.UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", server.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("onetimecode", schema=None) as batch_op:
        batch_op.create_index("ix_onetimecode_phone_created", ["phone_key", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("onetimecode", schema=None) as batch_op:
        batch_op.drop_index("ix_onetimecode_phone_created")
    op.drop_table("onetimecode")
