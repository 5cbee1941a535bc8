"""Notification's tables (SQLModel). Names start with ``notification_``."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from motcua.shared.db import UTCDateTime, utcnow


class NoticeRecord(SQLModel, table=True):
    """One notice to one recipient on one channel."""

    __tablename__ = "notification_notice"

    id: uuid.UUID = Field(
        default_factory=uuid.uuid4, sa_column=sa.Column(sa.Uuid, primary_key=True)
    )
    dossier_code: str = Field(max_length=40, index=True)
    trigger_event_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))
    channel: str = Field(max_length=16)
    template: str = Field(max_length=64)
    state: str = Field(max_length=32)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime, nullable=False)
    )


NOTIFICATION_TABLES = frozenset({"notification_notice"})
