"""read model: dossiers, monthly figures, occurrences, schedule changes, labels, re-publish log

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

GROUP_COLUMNS = ["agency_code", "procedure_level", "field_code", "procedure_code"]
RECEIVED_INDEX = ["received_day", "open_until_day", "channel", *GROUP_COLUMNS]
OPEN_INDEX = [
    "open_until_day", "received_day", "closure", "timeliness", "due_day", "paused",
    "state_changed_day", "processing_hours", *GROUP_COLUMNS,
]


def upgrade() -> None:
    with op.batch_alter_table("reporting_timeline") as batch:
        batch.add_column(sa.Column("imported", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("published_at", UTCDateTime(), nullable=True))
    op.execute("UPDATE reporting_timeline SET published_at = projected_at")
    with op.batch_alter_table("reporting_timeline") as batch:
        batch.alter_column("published_at", existing_type=UTCDateTime(), nullable=False)
    op.create_index("ix_reporting_timeline_published", "reporting_timeline", ["published_at"])

    op.create_table(
        "reporting_dossier",
        sa.Column("dossier_code", sa.String(length=40), primary_key=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("procedure_code", sa.String(length=32)),
        sa.Column("procedure_name", sa.String(length=300)),
        sa.Column("field_code", sa.String(length=32)),
        sa.Column("field_name", sa.String(length=300)),
        sa.Column("procedure_level", sa.String(length=16)),
        sa.Column("receiving_agency_code", sa.String(length=32)),
        sa.Column("competent_agency_code", sa.String(length=32)),
        sa.Column("agency_code", sa.String(length=32)),
        sa.Column("channel", sa.String(length=16)),
        sa.Column("imported", sa.Boolean(), nullable=False),
        sa.Column("received_at", UTCDateTime()),
        sa.Column("received_day", sa.Integer()),
        sa.Column("due_at", UTCDateTime()),
        sa.Column("due_day", sa.Integer()),
        sa.Column("initial_due_at", UTCDateTime()),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("state_changed_at", UTCDateTime()),
        sa.Column("state_changed_day", sa.Integer()),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.Column("closed_at", UTCDateTime()),
        sa.Column("open_until_day", sa.Integer(), nullable=False),
        sa.Column("closure", sa.String(length=16)),
        sa.Column("timeliness", sa.String(length=16)),
        sa.Column("processing_hours", sa.Float()),
        sa.Column("id_hash", sa.String(length=64)),
        sa.Column("rating", sa.Integer()),
        sa.Column("rated_at", UTCDateTime()),
        sa.Column("rated_day", sa.Integer()),
        sa.Column("occurrence_days", sa.JSON(), nullable=False),
    )
    op.create_index("ix_reporting_dossier_received", "reporting_dossier", RECEIVED_INDEX)
    op.create_index("ix_reporting_dossier_open", "reporting_dossier", OPEN_INDEX)
    op.create_index("ix_reporting_dossier_due", "reporting_dossier", ["open_until_day", "paused", "due_at"])
    op.create_index("ix_reporting_dossier_rated", "reporting_dossier", ["rated_day"])
    op.create_index("ix_reporting_dossier_changed", "reporting_dossier", ["state_changed_day"])

    op.create_table(
        "reporting_month_figure",
        sa.Column("month", sa.Integer(), primary_key=True),
        sa.Column("agency_code", sa.String(length=32), primary_key=True),
        sa.Column("procedure_level", sa.String(length=16), primary_key=True),
        sa.Column("field_code", sa.String(length=32), primary_key=True),
        sa.Column("procedure_code", sa.String(length=32), primary_key=True),
        *(sa.Column(m, sa.Integer(), nullable=False) for m in (
            "received_online", "received_direct", "resolved_early", "resolved_on_time",
            "resolved_late", "hours_count", "apology", "supplement", "withdrawal",
            "refusal", "postal_return",
        )),
        sa.Column("hours_total", sa.Float(), nullable=False),
    )

    op.create_table(
        "reporting_occurrence",
        sa.Column("event_id", sa.Uuid(), primary_key=True),
        sa.Column("dossier_code", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("occurred_day", sa.Integer(), nullable=False),
    )
    op.create_index("ix_reporting_occurrence_day", "reporting_occurrence", ["occurred_day", "kind"])

    op.create_table(
        "reporting_schedule_change",
        sa.Column("event_id", sa.Uuid(), primary_key=True),
        sa.Column("dossier_code", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.Column("due_at", UTCDateTime()),
        sa.Column("paused", sa.Boolean(), nullable=False),
    )
    op.create_index(
        "ix_reporting_schedule_change_dossier", "reporting_schedule_change", ["dossier_code", "seq"]
    )

    op.create_table(
        "reporting_label",
        sa.Column("kind", sa.String(length=16), primary_key=True),
        sa.Column("code", sa.String(length=32), primary_key=True),
        sa.Column("name", sa.String(length=300), nullable=False),
    )

    op.create_table(
        "reporting_republish",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("dlt_topic", sa.String(length=255), nullable=False),
        sa.Column("dlt_partition", sa.Integer(), nullable=False),
        sa.Column("dlt_offset", sa.Integer(), nullable=False),
        sa.Column("original_topic", sa.String(length=255), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("operator", sa.String(length=128), nullable=False),
        sa.Column("republished_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("dlt_topic", "dlt_partition", "dlt_offset", name="uq_reporting_republish"),
    )


def downgrade() -> None:
    op.drop_table("reporting_republish")
    op.drop_table("reporting_label")
    op.drop_table("reporting_schedule_change")
    op.drop_table("reporting_occurrence")
    op.drop_table("reporting_month_figure")
    op.drop_table("reporting_dossier")
    op.drop_index("ix_reporting_timeline_published", table_name="reporting_timeline")
    with op.batch_alter_table("reporting_timeline") as batch:
        batch.drop_column("published_at")
        batch.drop_column("imported")
