"""the shared parking lot and the outbox's broker marks

Revision ID: 0004
Revises: 0003
"""
from collections.abc import Sequence

from alembic import op

from motcua.shared.migrations import create_parking_and_marks, drop_parking_and_marks


revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_parking_and_marks(op)


def downgrade() -> None:
    drop_parking_and_marks(op)
