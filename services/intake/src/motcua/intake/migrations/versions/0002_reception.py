"""reception: full dossier record, procedure versions, idempotency keys

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
    with op.batch_alter_table("intake_dossier") as batch:
        batch.add_column(sa.Column("procedure_version", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("procedure_name", sa.String(length=500), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("status_changed_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("clock_started_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("time_limit", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("details", sa.JSON(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("supplement_requested", sa.JSON(), nullable=True))
        batch.add_column(
            sa.Column("filed_by", sa.String(length=32), nullable=False, server_default="desk_officer")
        )
        batch.add_column(sa.Column("officer", sa.String(length=128), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("imported", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_index("ix_intake_dossier_status", "intake_dossier", ["status"])
    op.create_table(
        "intake_procedure_version",
        sa.Column("code", sa.String(length=32), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("published_by", sa.String(length=128), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "intake_idempotency",
        sa.Column("scope", sa.String(length=200), primary_key=True),
        sa.Column("key", sa.String(length=200), primary_key=True),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("intake_idempotency")
    op.drop_table("intake_procedure_version")
    op.drop_index("ix_intake_dossier_status", table_name="intake_dossier")
    with op.batch_alter_table("intake_dossier") as batch:
        for column in (
            "imported",
            "officer",
            "filed_by",
            "supplement_requested",
            "details",
            "time_limit",
            "clock_started_at",
            "status_changed_at",
            "procedure_name",
            "procedure_version",
        ):
            batch.drop_column(column)
