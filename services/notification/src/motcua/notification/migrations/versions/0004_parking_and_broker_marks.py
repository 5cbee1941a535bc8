"""the shared parking lot and the outbox's broker marks; the status and import
flag of notification's dossiers

Revision ID: 0004
Revises: 0003
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from motcua.shared.migrations import create_parking_and_marks, drop_parking_and_marks
from motcua.shared.migrations import move_parked_events as _move_parked

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_parking_and_marks(op)
    with op.batch_alter_table("notification_dossier") as batch:
        batch.add_column(sa.Column("status", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("imported", sa.Boolean(), nullable=False, server_default=sa.false()))
    # events parked here before move to the shared parking lot (the consumer
    # now parks records as received; the old rows were events for dossiers
    # still unknown, re-parked as records of the consumer group)
    _move_parked(op, "notification_parked_event", "notification")
    op.drop_table("notification_parked_event")


def downgrade() -> None:
    with op.batch_alter_table("notification_dossier") as batch:
        batch.drop_column("imported")
        batch.drop_column("status")
    drop_parking_and_marks(op)
