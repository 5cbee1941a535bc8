"""delivery: dossier contacts, recipients, notices, postal orders, waybills

The walking skeleton's notice table recorded rows nobody sent; it is replaced.

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
    op.drop_table("notification_notice")
    op.create_table(
        "notification_dossier",
        sa.Column("dossier_code", sa.String(40), primary_key=True),
        sa.Column("agency_code", sa.String(32), nullable=False),
        sa.Column("procedure_code", sa.String(32), nullable=False),
        sa.Column("procedure_name", sa.String(300), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=True),
        sa.Column("due_at", UTCDateTime(), nullable=True),
        sa.Column("result_delivery", sa.String(16), nullable=False),
        sa.Column("notify_channels", sa.JSON(), nullable=False),
        sa.Column("postal_address", sa.JSON(), nullable=True),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("recipient_role", sa.String(16), nullable=True),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "notification_recipient",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("dossier_code", sa.String(40), nullable=False, index=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("address", sa.String(500), nullable=True),
        sa.UniqueConstraint("dossier_code", "role"),
    )
    op.create_table(
        "notification_notice",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
        sa.Column("dossier_code", sa.String(40), nullable=False, index=True),
        sa.Column("recipient_id", sa.Uuid(), nullable=True),
        sa.Column("trigger_event_id", sa.Uuid(), nullable=False),
        sa.Column("trigger_event_type", sa.String(64), nullable=False),
        sa.Column("correlation_id", sa.String(100), nullable=False),
        sa.Column("traceparent", sa.String(100), nullable=True),
        sa.Column("template", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("subject", sa.String(300), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("sms_segments", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("claim_token", sa.Uuid(), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("provider", sa.String(32), nullable=True),
        sa.Column("provider_idempotency_key", sa.Uuid(), nullable=True),
        sa.Column("provider_reference", sa.String(100), nullable=True, index=True),
        sa.Column("waybill_code", sa.String(32), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=False),
        sa.Column("fallback_of", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("accepted_at", UTCDateTime(), nullable=True),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
    )
    op.create_index(
        "ix_notification_notice_due", "notification_notice", ["state", "next_attempt_at"]
    )
    op.create_table(
        "notification_postal_order",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("notice_id", sa.Uuid(), nullable=False, unique=True),
        sa.Column("dossier_code", sa.String(40), nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("waybill_code", sa.String(32), nullable=False, unique=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("cancel_reason", sa.String(300), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "notification_waybill",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("notice_id", sa.Uuid(), nullable=True, index=True),
        sa.Column("loaded_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
    )
    op.create_table(
        "notification_parked_event",
        sa.Column("event_id", sa.Uuid(), primary_key=True),
        sa.Column("dossier_code", sa.String(40), nullable=False, index=True),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("traceparent", sa.String(100), nullable=True),
        sa.Column("parked_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "notification_parked_event",
        "notification_waybill",
        "notification_postal_order",
        "notification_notice",
        "notification_recipient",
        "notification_dossier",
    ):
        op.drop_table(table)
    op.create_table(
        "notification_notice",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("dossier_code", sa.String(length=40), nullable=False),
        sa.Column("trigger_event_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_notification_notice_dossier_code", "notification_notice", ["dossier_code"])
