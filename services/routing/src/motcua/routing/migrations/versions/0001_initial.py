"""initial: messaging tables, routed dossiers

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
        "routing_dossier",
        sa.Column("code", sa.String(length=40), primary_key=True),
        sa.Column("procedure_code", sa.String(length=32), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("holder_agency_code", sa.String(length=32), nullable=True),
        sa.Column("current_step", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_routing_dossier_holder_agency_code", "routing_dossier", ["holder_agency_code"])


def downgrade() -> None:
    op.drop_table("routing_dossier")
    drop_messaging_tables(op)
