"""Intake's tables (SQLModel). Names start with ``intake_``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from motcua.shared.db import UTCDateTime, utcnow


class DossierRecord(SQLModel, table=True):
    """A dossier as received (hồ sơ), with the status intake last learnt."""

    __tablename__ = "intake_dossier"

    code: str = Field(primary_key=True, max_length=40)
    procedure_code: str = Field(max_length=32, index=True)
    procedure_version: int | None = None
    procedure_name: str = Field(default="", max_length=500)
    receiving_agency_code: str = Field(max_length=32, index=True)
    channel: str = Field(max_length=16)
    status: int
    status_changed_at: datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime)
    )
    received_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    clock_started_at: datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime)
    )
    due_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime))
    time_limit: str | None = Field(default=None, max_length=16)
    applicant: dict[str, Any] = Field(
        default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    details: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=sa.Column(sa.JSON, nullable=False),
        description="Representative, components, delivery, refusal reasons … as "
        "shown on the forms.",
    )
    supplement_requested: list[str] | None = Field(
        default=None, sa_column=sa.Column(sa.JSON)
    )
    filed_by: str = Field(default="desk_officer", max_length=32)
    officer: str = Field(default="", max_length=128)
    imported: bool = False
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime, nullable=False)
    )


class DossierCodeCounter(SQLModel, table=True):
    """Per-agency, per-day sequence behind ``<e-ID>-<yyMMdd>-<NNNN>``."""

    __tablename__ = "intake_code_counter"

    agency_code: str = Field(primary_key=True, max_length=32)
    day: date = Field(primary_key=True)
    last_value: int = 0


class ProcedureVersion(SQLModel, table=True):
    """One published version of a procedure (the catalogue is append-only)."""

    __tablename__ = "intake_procedure_version"

    code: str = Field(primary_key=True, max_length=32)
    version: int = Field(primary_key=True)
    body: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    content_hash: str = Field(max_length=64)
    source: str = Field(max_length=16, description="`file` or `api`.")
    published_by: str = Field(default="", max_length=128)
    published_at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime, nullable=False)
    )


class IdempotentRequest(SQLModel, table=True):
    """A request made with an ``Idempotency-Key``, and the answer it got."""

    __tablename__ = "intake_idempotency"

    scope: str = Field(primary_key=True, max_length=200)
    key: str = Field(primary_key=True, max_length=200)
    request_hash: str = Field(max_length=64)
    status_code: int
    response: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime, nullable=False)
    )


INTAKE_TABLES = frozenset(
    {
        "intake_dossier",
        "intake_code_counter",
        "intake_procedure_version",
        "intake_idempotency",
    }
)
