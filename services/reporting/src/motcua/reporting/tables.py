"""Reporting's tables (SQLModel). Names start with ``reporting_``.

The read model is rebuilt from the topics (``motcua reporting rebuild``):
every table in :data:`PROJECTION_TABLES` is derived from events only. The
operator's re-publish log is not, and survives a rebuild.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from motcua.shared.db import UTCDateTime, utcnow


class TimelineEntry(SQLModel, table=True):
    """One event of a dossier, from any service, as reporting saw it."""

    __tablename__ = "reporting_timeline"
    __table_args__ = (
        sa.Index("ix_reporting_timeline_dossier", "dossier_code", "occurred_at"),
        sa.Index("ix_reporting_timeline_published", "published_at"),
    )

    event_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, primary_key=True))
    dossier_code: str = Field(max_length=40)
    event_type: str = Field(max_length=64)
    occurred_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    producer: str = Field(max_length=32)
    agency_code: str | None = Field(default=None, max_length=32)
    topic: str = Field(max_length=128)
    partition: int
    offset: int
    trace_id: str | None = Field(default=None, max_length=32)
    imported: bool = Field(default=False)
    published_at: datetime = Field(
        sa_column=sa.Column(UTCDateTime, nullable=False),
        description="When the broker received the record (flow rates).",
    )
    projected_at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime, nullable=False)
    )
    body: str | None = Field(
        default=None,
        sa_column=sa.Column(sa.Text, nullable=True),
        description="The record body of a chained event, signature included: "
        "what `motcua verify` and the verification endpoint check.",
    )
    seq: int | None = Field(default=None, description="Position in the chain.")
    signing: str | None = Field(
        default=None,
        max_length=16,
        description="`signed`, `unsigned_legacy`, or none (not a legal act).",
    )
    signer: str | None = Field(default=None, max_length=32)


GROUP_COLUMNS = ("agency_code", "procedure_level", "field_code", "procedure_code")
RECEIVED_INDEX = ("received_day", "open_until_day", "channel", *GROUP_COLUMNS)
"""Covers the scan of dossiers received on loose days of a custom range, and of
those carried over from before a period start near the oldest data."""
OPEN_INDEX = (
    "open_until_day",
    "received_day",
    "closure",
    "timeliness",
    "due_day",
    "paused",
    "state_changed_day",
    "processing_hours",
    *GROUP_COLUMNS,
)
"""Covers the stock scans (open at a period's start or end) and closures on
loose days."""


class DossierRow(SQLModel, table=True):
    """One dossier with the facts the reports need (see ``facts.DossierFacts``).

    Day columns are Vietnam calendar days as ordinals: period bounds are whole
    days, so comparing integers is exact and fast on both databases.
    """

    __tablename__ = "reporting_dossier"
    __table_args__ = (
        sa.Index("ix_reporting_dossier_received", *RECEIVED_INDEX),
        sa.Index("ix_reporting_dossier_open", *OPEN_INDEX),
        sa.Index("ix_reporting_dossier_due", "open_until_day", "paused", "due_at"),
        sa.Index("ix_reporting_dossier_rated", "rated_day"),
        sa.Index("ix_reporting_dossier_changed", "state_changed_day"),
    )

    dossier_code: str = Field(primary_key=True, max_length=40)
    status: int = 0
    procedure_code: str | None = Field(default=None, max_length=32)
    procedure_name: str | None = Field(default=None, max_length=300)
    field_code: str | None = Field(default=None, max_length=32)
    field_name: str | None = Field(default=None, max_length=300)
    procedure_level: str | None = Field(default=None, max_length=16)
    receiving_agency_code: str | None = Field(default=None, max_length=32)
    competent_agency_code: str | None = Field(default=None, max_length=32)
    agency_code: str | None = Field(default=None, max_length=32)
    channel: str | None = Field(default=None, max_length=16)
    imported: bool = False
    received_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime))
    received_day: int | None = None
    due_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime))
    due_day: int | None = None
    initial_due_at: datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime)
    )
    paused: bool = False
    state_changed_at: datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime)
    )
    state_changed_day: int | None = None
    changes: int = 0
    closed_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime))
    open_until_day: int = Field(default=0)
    closure: str | None = Field(default=None, max_length=16)
    timeliness: str | None = Field(default=None, max_length=16)
    processing_hours: float | None = None
    id_hash: str | None = Field(default=None, max_length=64)
    rating: int | None = None
    rated_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime))
    rated_day: int | None = None
    occurrence_days: list[list[Any]] = Field(
        default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False)
    )


class MonthFigureRow(SQLModel, table=True):
    """Biểu 06 flow columns summed per official month and group (see
    ``monthly.py``); '' stands for an unknown group value."""

    __tablename__ = "reporting_month_figure"

    month: int = Field(primary_key=True)
    agency_code: str = Field(primary_key=True, max_length=32)
    procedure_level: str = Field(primary_key=True, max_length=16)
    field_code: str = Field(primary_key=True, max_length=32)
    procedure_code: str = Field(primary_key=True, max_length=32)
    received_online: int = 0
    received_direct: int = 0
    resolved_early: int = 0
    resolved_on_time: int = 0
    resolved_late: int = 0
    hours_count: int = 0
    hours_total: float = 0.0
    apology: int = 0
    supplement: int = 0
    withdrawal: int = 0
    refusal: int = 0
    postal_return: int = 0


class OccurrenceRow(SQLModel, table=True):
    """A counted happening (apology, supplement, withdrawal, refusal, postal
    return), one per event, on the day it happened."""

    __tablename__ = "reporting_occurrence"
    __table_args__ = (sa.Index("ix_reporting_occurrence_day", "occurred_day", "kind"),)

    event_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, primary_key=True))
    dossier_code: str = Field(max_length=40)
    kind: str = Field(max_length=24)
    occurred_day: int


class ScheduleChangeRow(SQLModel, table=True):
    """The appointment or the pause of a dossier changed: history for past
    periods' "within time / overdue at the period end"."""

    __tablename__ = "reporting_schedule_change"
    __table_args__ = (
        sa.Index("ix_reporting_schedule_change_dossier", "dossier_code", "seq"),
    )

    event_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, primary_key=True))
    dossier_code: str = Field(max_length=40)
    seq: int
    changed_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    due_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime))
    paused: bool = False


class LabelRow(SQLModel, table=True):
    """Names of procedures and fields as the events spelled them."""

    __tablename__ = "reporting_label"

    kind: str = Field(primary_key=True, max_length=16)
    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=300)


class RepublishRow(SQLModel, table=True):
    """An operator re-published a dead-lettered record (not a projection)."""

    __tablename__ = "reporting_republish"
    __table_args__ = (
        sa.UniqueConstraint(
            "dlt_topic", "dlt_partition", "dlt_offset", name="uq_reporting_republish"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    dlt_topic: str = Field(max_length=255)
    dlt_partition: int
    dlt_offset: int
    original_topic: str = Field(max_length=255)
    message_id: str = Field(max_length=255)
    operator: str = Field(max_length=128)
    republished_at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime, nullable=False)
    )


PROJECTION_TABLES = (
    "reporting_timeline",
    "reporting_dossier",
    "reporting_month_figure",
    "reporting_occurrence",
    "reporting_schedule_change",
    "reporting_label",
)
REPORTING_TABLES = frozenset({*PROJECTION_TABLES, "reporting_republish"})
