"""signed history: each dossier's chain state, checkpoints, and the signed
bodies of chained events on the timeline (ADR 0012)

Revision ID: 0003
Revises: 0002
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from motcua.shared.migrations import create_signing_tables, drop_signing_tables

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_signing_tables(op)
    with op.batch_alter_table("reporting_timeline") as batch:
        batch.add_column(sa.Column("body", sa.Text(), nullable=True))
        batch.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("signing", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("signer", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reporting_timeline") as batch:
        batch.drop_column("signer")
        batch.drop_column("signing")
        batch.drop_column("seq")
        batch.drop_column("body")
    drop_signing_tables(op)
