"""Routing's tables (SQLModel). Names start with ``routing_``.

Rows mirror :mod:`motcua.routing.domain` and are mapped to and from it in
:mod:`motcua.routing.repository`; no rule lives here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from motcua.shared.db import UTCDateTime, utcnow


def _when(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(
        default=None,
        sa_column=sa.Column(UTCDateTime, nullable=nullable, index=index),
    )


class RoutedDossier(SQLModel, table=True):
    """A dossier as routing follows it (hồ sơ liên thông)."""

    __tablename__ = "routing_dossier"

    code: str = Field(primary_key=True, max_length=40)
    procedure_code: str = Field(max_length=32)
    procedure_name: str = Field(default="", max_length=300)
    status: int
    holder_agency_code: str | None = Field(default=None, max_length=32, index=True)
    current_step: int = 0
    receiving_agency_code: str = Field(default="", max_length=32)
    competent_agency_type: str | None = Field(default=None, max_length=64)
    competent_agency_code: str | None = Field(default=None, max_length=32)
    received_at: datetime | None = _when()
    due_at: datetime | None = _when()
    original_due_at: datetime | None = _when()
    nearly_due_at: datetime | None = _when()
    next_alarm_at: datetime | None = _when(index=True)
    """When the deadline scheduler should next look at this dossier."""
    imported: bool = Field(default=False)
    correlation_id: str | None = Field(default=None, max_length=64)
    steps: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    workflow: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    """The workflow as received (roles, not agencies), for the dispatch queue."""
    dispatch_reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    """Set while the dossier waits in the dispatch queue for an operator."""
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime, nullable=False)
    )


class HandoffRow(SQLModel, table=True):
    """One hand-over of a dossier to an agency for one step (chuyển giao)."""

    __tablename__ = "routing_handoff"
    __table_args__ = (sa.UniqueConstraint("dossier_code", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    dossier_code: str = Field(max_length=40, index=True)
    seq: int
    step_no: int
    role: str = Field(max_length=64)
    step_name: str = Field(default="", max_length=300)
    from_agency_code: str | None = Field(default=None, max_length=32)
    to_agency_code: str = Field(max_length=32, index=True)
    state: str = Field(max_length=16, index=True)
    offered_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    offered_by: str | None = Field(default=None, max_length=200)
    step_hours: float = 0
    step_due_at: datetime | None = _when()
    nearly_due_at: datetime | None = _when()
    escalate_at: datetime | None = _when()
    escalated_at: datetime | None = _when()
    acknowledged_at: datetime | None = _when()
    acknowledged_by: str | None = Field(default=None, max_length=200)
    closed_at: datetime | None = _when()
    closed_by: str | None = Field(default=None, max_length=200)
    close_reason: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    timeliness: str | None = Field(default=None, max_length=16)


class PauseRow(SQLModel, table=True):
    """A pause of the legal clock: waiting for a supplement or a fee.

    The partial unique index is the database's half of "a supplement at most
    once per agency": two concurrent requests cannot both commit.
    """

    __tablename__ = "routing_pause"
    __table_args__ = (
        sa.Index(
            "ux_routing_pause_supplement_once",
            "dossier_code",
            "agency_code",
            unique=True,
            sqlite_where=sa.text("kind = 'supplement'"),
            postgresql_where=sa.text("kind = 'supplement'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    dossier_code: str = Field(max_length=40, index=True)
    kind: str = Field(max_length=16)
    agency_code: str = Field(max_length=32)
    step_no: int
    started_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    ended_at: datetime | None = _when()
    paused_working_hours: float | None = None


class DeadlineAlarm(SQLModel, table=True):
    """A deadline alarm raised; the unique key makes it happen once, whatever
    the number of routing instances."""

    __tablename__ = "routing_deadline_alarm"
    __table_args__ = (
        sa.UniqueConstraint("dossier_code", "kind", "scope", "handoff_seq", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    dossier_code: str = Field(max_length=40)
    kind: str = Field(max_length=16)
    scope: str = Field(max_length=16)
    handoff_seq: int
    step_no: int | None = None
    due_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    agency_code: str | None = Field(default=None, max_length=32, index=True)
    raised_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))


class DossierEventRow(SQLModel, table=True):
    """The routing events of a dossier in order: the source of its control
    sheet (and an audit trail). Holds no personal data."""

    __tablename__ = "routing_dossier_event"

    id: int | None = Field(default=None, primary_key=True)
    dossier_code: str = Field(max_length=40, index=True)
    event_id: str = Field(max_length=64, unique=True)
    event_type: str = Field(max_length=64)
    occurred_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    envelope: str = Field(sa_column=sa.Column(sa.Text, nullable=False))


ROUTING_TABLES = frozenset(
    {
        "routing_dossier",
        "routing_handoff",
        "routing_pause",
        "routing_deadline_alarm",
        "routing_dossier_event",
    }
)
