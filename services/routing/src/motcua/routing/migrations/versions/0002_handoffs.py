"""hand-offs, pauses, deadline alarms, dossier event log, parked events

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
    with op.batch_alter_table("routing_dossier") as batch:
        batch.add_column(sa.Column("procedure_name", sa.String(length=300), nullable=False, server_default=""))
        batch.add_column(sa.Column("receiving_agency_code", sa.String(length=32), nullable=False, server_default=""))
        batch.add_column(sa.Column("competent_agency_type", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("competent_agency_code", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("received_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("due_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("original_due_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("nearly_due_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("next_alarm_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("imported", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("correlation_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("steps", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("workflow", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("dispatch_reason", sa.Text(), nullable=True))
        batch.create_index("ix_routing_dossier_next_alarm_at", ["next_alarm_at"])

    op.create_table(
        "routing_handoff",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("dossier_code", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("step_no", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("step_name", sa.String(length=300), nullable=False),
        sa.Column("from_agency_code", sa.String(length=32), nullable=True),
        sa.Column("to_agency_code", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("offered_at", UTCDateTime(), nullable=False),
        sa.Column("offered_by", sa.String(length=200), nullable=True),
        sa.Column("step_hours", sa.Float(), nullable=False),
        sa.Column("step_due_at", UTCDateTime(), nullable=True),
        sa.Column("nearly_due_at", UTCDateTime(), nullable=True),
        sa.Column("escalate_at", UTCDateTime(), nullable=True),
        sa.Column("escalated_at", UTCDateTime(), nullable=True),
        sa.Column("acknowledged_at", UTCDateTime(), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=200), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("closed_by", sa.String(length=200), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=False),
        sa.Column("timeliness", sa.String(length=16), nullable=True),
        sa.UniqueConstraint("dossier_code", "seq"),
    )
    op.create_index("ix_routing_handoff_dossier_code", "routing_handoff", ["dossier_code"])
    op.create_index("ix_routing_handoff_to_agency_code", "routing_handoff", ["to_agency_code"])
    op.create_index("ix_routing_handoff_state", "routing_handoff", ["state"])

    op.create_table(
        "routing_pause",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("dossier_code", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("agency_code", sa.String(length=32), nullable=False),
        sa.Column("step_no", sa.Integer(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("paused_working_hours", sa.Float(), nullable=True),
    )
    op.create_index("ix_routing_pause_dossier_code", "routing_pause", ["dossier_code"])
    op.create_index(
        "ux_routing_pause_supplement_once",
        "routing_pause",
        ["dossier_code", "agency_code"],
        unique=True,
        sqlite_where=sa.text("kind = 'supplement'"),
        postgresql_where=sa.text("kind = 'supplement'"),
    )

    op.create_table(
        "routing_deadline_alarm",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("dossier_code", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("handoff_seq", sa.Integer(), nullable=False),
        sa.Column("step_no", sa.Integer(), nullable=True),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("agency_code", sa.String(length=32), nullable=True),
        sa.Column("raised_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("dossier_code", "kind", "scope", "handoff_seq", "due_at"),
    )
    op.create_index("ix_routing_deadline_alarm_agency_code", "routing_deadline_alarm", ["agency_code"])

    op.create_table(
        "routing_dossier_event",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("dossier_code", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False, unique=True),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
    )
    op.create_index("ix_routing_dossier_event_dossier_code", "routing_dossier_event", ["dossier_code"])

    op.create_table(
        "routing_parked_event",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("dossier_code", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False, unique=True),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("parked_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_routing_parked_event_dossier_code", "routing_parked_event", ["dossier_code"])


def downgrade() -> None:
    op.drop_table("routing_parked_event")
    op.drop_table("routing_dossier_event")
    op.drop_table("routing_deadline_alarm")
    op.drop_table("routing_pause")
    op.drop_table("routing_handoff")
    with op.batch_alter_table("routing_dossier") as batch:
        batch.drop_index("ix_routing_dossier_next_alarm_at")
        for column in (
            "dispatch_reason", "workflow", "steps", "correlation_id", "imported",
            "next_alarm_at", "nearly_due_at", "original_due_at", "due_at",
            "received_at", "competent_agency_code", "competent_agency_type", "receiving_agency_code",
            "procedure_name",
        ):
            batch.drop_column(column)
