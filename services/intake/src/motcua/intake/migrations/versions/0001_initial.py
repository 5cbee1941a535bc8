"""initial: messaging tables, dossiers, code counter

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
        "intake_dossier",
        sa.Column("code", sa.String(length=40), primary_key=True),
        sa.Column("procedure_code", sa.String(length=32), nullable=False),
        sa.Column("receiving_agency_code", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=True),
        sa.Column("applicant", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_intake_dossier_procedure_code", "intake_dossier", ["procedure_code"])
    op.create_index(
        "ix_intake_dossier_receiving_agency_code", "intake_dossier", ["receiving_agency_code"]
    )
    op.create_table(
        "intake_code_counter",
        sa.Column("agency_code", sa.String(length=32), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("last_value", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("intake_code_counter")
    op.drop_table("intake_dossier")
    drop_messaging_tables(op)
