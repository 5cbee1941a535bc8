"""initial: messaging tables, notices

Revision ID: 0001
Revises:
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from motcua.shared.db import UTCDateTime
from motcua.shared.migrations import create_messaging_tables, drop_messaging_tables

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_messaging_tables(op)
    op.create_table(
        "notification_notice",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("dossier_code", sa.String(length=40), nullable=False),
        sa.Column("trigger_event_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_notification_notice_dossier_code", "notification_notice", ["dossier_code"])


def downgrade() -> None:
    op.drop_table("notification_notice")
    drop_messaging_tables(op)
