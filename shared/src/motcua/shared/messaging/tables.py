"""Outbox and inbox tables, present in every service's database."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from motcua.shared.db import UTCDateTime, utcnow


class OutboxRecord(SQLModel, table=True):
    """An event waiting to be published, written in the business transaction."""

    __tablename__ = "outbox"
    __table_args__ = (
        sa.Index(
            "ix_outbox_pending",
            "id",
            sqlite_where=sa.text("published_at IS NULL"),
            postgresql_where=sa.text("published_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, nullable=False, unique=True)
    )
    topic: str = Field(max_length=255)
    key: str | None = Field(default=None, max_length=255)
    payload: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    headers: dict[str, str] = Field(
        default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime, nullable=False)
    )
    published_at: datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime, nullable=True)
    )
    lease_token: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime, nullable=True)
    )
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, sa_column=sa.Column(sa.Text))


class InboxRecord(SQLModel, table=True):
    """A message a consumer has applied (or dead-lettered): the dedup key."""

    __tablename__ = "inbox"

    consumer: str = Field(primary_key=True, max_length=128)
    message_id: str = Field(primary_key=True, max_length=255)
    status: str = Field(default="processed", max_length=32)
    processed_at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime, nullable=False)
    )


class ParkedRecord(SQLModel, table=True):
    """A record a consumer set aside because it came before what it is about
    (an event before its dossier's reception): taken back when that arrives,
    dead-lettered (``parked_expired``) if it does not within the time allowed.
    Kept as received, so its dead letter is the record itself."""

    __tablename__ = "parked_record"
    __table_args__ = (
        sa.UniqueConstraint("consumer", "message_id", name="uq_parked_record"),
    )

    id: int | None = Field(default=None, primary_key=True)
    consumer: str = Field(max_length=128)
    message_id: str = Field(max_length=255)
    dossier_code: str = Field(max_length=64, index=True)
    topic: str = Field(max_length=255)
    partition: int
    offset: int = Field(sa_column=sa.Column("offset", sa.BigInteger, nullable=False))
    key: str | None = Field(default=None, max_length=255)
    value: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    headers: dict[str, str] = Field(
        default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    timestamp_ms: int = Field(
        default=0, sa_column=sa.Column(sa.BigInteger, nullable=False)
    )
    parked_at: datetime = Field(
        default_factory=utcnow,
        sa_column=sa.Column(UTCDateTime, nullable=False, index=True),
    )


class BrokerMark(SQLModel, table=True):
    """How far this database's outbox got on each partition of the broker: the
    highest offset the broker acknowledged for a published row, and the
    cluster it was. A broker whose log is shorter, or another cluster, has lost
    what was published: the relay publishes the retained rows again (ADR 0008)."""

    __tablename__ = "outbox_broker_mark"

    topic: str = Field(primary_key=True, max_length=255)
    partition: int = Field(primary_key=True)
    offset: int = Field(sa_column=sa.Column("offset", sa.BigInteger, nullable=False))
    cluster_id: str = Field(default="", max_length=128)
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime, nullable=False)
    )


MESSAGING_TABLES = frozenset({"outbox", "inbox", "parked_record", "outbox_broker_mark"})
