"""Reporting's tables (SQLModel). Names start with ``reporting_``."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from motcua.shared.db import UTCDateTime, utcnow


class TimelineEntry(SQLModel, table=True):
    """One event of a dossier, from any service, as reporting saw it."""

    __tablename__ = "reporting_timeline"
    __table_args__ = (
        sa.Index("ix_reporting_timeline_dossier", "dossier_code", "occurred_at"),
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
    projected_at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime, nullable=False)
    )


REPORTING_TABLES = frozenset({"reporting_timeline"})
