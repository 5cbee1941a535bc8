"""initial: messaging tables, timeline

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
        "reporting_timeline",
        sa.Column("event_id", sa.Uuid(), primary_key=True),
        sa.Column("dossier_code", sa.String(length=40), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("producer", sa.String(length=32), nullable=False),
        sa.Column("agency_code", sa.String(length=32), nullable=True),
        sa.Column("topic", sa.String(length=128), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.Integer(), nullable=False),
        sa.Column("trace_id", sa.String(length=32), nullable=True),
        sa.Column("projected_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_reporting_timeline_dossier", "reporting_timeline", ["dossier_code", "occurred_at"])


def downgrade() -> None:
    op.drop_table("reporting_timeline")
    drop_messaging_tables(op)
