"""the shared parking lot and the outbox's broker marks

Revision ID: 0004
Revises: 0003
"""
from collections.abc import Sequence

from alembic import op

from motcua.shared.migrations import create_parking_and_marks, drop_parking_and_marks
from motcua.shared.migrations import move_parked_events as _move_parked

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_parking_and_marks(op)
    # events parked here before move to the shared parking lot (the consumer
    # now parks records as received; the old rows were events for dossiers
    # still unknown, re-parked as records of the consumer group)
    _move_parked(op, "routing_parked_event", "routing")
    op.drop_table("routing_parked_event")


def downgrade() -> None:
    drop_parking_and_marks(op)
