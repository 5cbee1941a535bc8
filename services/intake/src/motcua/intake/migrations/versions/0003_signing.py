"""signed history: each dossier's chain state (ADR 0012)

Revision ID: 0003
Revises: 0002
"""
from collections.abc import Sequence

from alembic import op

from motcua.shared.migrations import create_signing_tables, drop_signing_tables

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_signing_tables(op)


def downgrade() -> None:
    drop_signing_tables(op)
