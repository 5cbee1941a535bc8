"""an index on the provider's idempotency key of notices: an SMS receipt finds
its notice by it (each receipt scanned the whole table)

Revision ID: 0005
Revises: 0004
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_notification_notice_provider_idempotency_key",
        "notification_notice",
        ["provider_idempotency_key"],
    )


def downgrade() -> None:
    op.drop_index(
        "ix_notification_notice_provider_idempotency_key", "notification_notice"
    )
