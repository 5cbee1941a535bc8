"""sync state: each dossier's last record, the items to send, reconciliations

Revision ID: 0002
Revises: 0001
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from motcua.shared.db import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "portal_dossier",
        sa.Column("dossier_code", sa.String(length=64), primary_key=True),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("acknowledged", sa.Boolean(), nullable=False),
        sa.Column("imported", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_portal_dossier_created_at", "portal_dossier", ["created_at"])
    op.create_table(
        "portal_item",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("dossier_code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=True),
        sa.Column("event_at", UTCDateTime(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("acked_at", UTCDateTime(), nullable=True),
        sa.Column("parked_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_portal_item_open", "portal_item", ["state", "id"])
    op.create_index("ix_portal_item_dossier", "portal_item", ["dossier_code", "id"])
    op.create_table(
        "portal_reconciliation",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("period_from", UTCDateTime(), nullable=True),
        sa.Column("period_to", UTCDateTime(), nullable=True),
        sa.Column("dossiers", sa.Integer(), nullable=False),
        sa.Column("differences", sa.Integer(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("portal_reconciliation")
    op.drop_index("ix_portal_item_dossier", table_name="portal_item")
    op.drop_index("ix_portal_item_open", table_name="portal_item")
    op.drop_table("portal_item")
    op.drop_index("ix_portal_dossier_created_at", table_name="portal_dossier")
    op.drop_table("portal_dossier")
