"""initial: messaging tables (outbox, inbox, parking lot, broker marks) and
the signing chain state

Revision ID: 0001
Revises:
"""
from collections.abc import Sequence

from alembic import op

from motcua.shared.migrations import (
    create_messaging_tables,
    create_parking_and_marks,
    create_signing_tables,
    drop_messaging_tables,
    drop_parking_and_marks,
    drop_signing_tables,
)

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_messaging_tables(op)
    create_signing_tables(op)
    create_parking_and_marks(op)


def downgrade() -> None:
    drop_parking_and_marks(op)
    drop_signing_tables(op)
    drop_messaging_tables(op)
