"""Intake's tables (SQLModel). Names start with ``intake_``."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from motcua.shared.db import UTCDateTime, utcnow


class DossierRecord(SQLModel, table=True):
    __tablename__ = "intake_dossier"

    code: str = Field(primary_key=True, max_length=40)
    procedure_code: str = Field(max_length=32, index=True)
    receiving_agency_code: str = Field(max_length=32, index=True)
    channel: str = Field(max_length=16)
    status: int
    received_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    due_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime))
    applicant: dict[str, object] = Field(
        default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime, nullable=False)
    )


class DossierCodeCounter(SQLModel, table=True):
    """Per-agency, per-day sequence behind ``<e-ID>-<yyMMdd>-<NNNN>``."""

    __tablename__ = "intake_code_counter"

    agency_code: str = Field(primary_key=True, max_length=32)
    day: date = Field(primary_key=True)
    last_value: int = 0


INTAKE_TABLES = frozenset({"intake_dossier", "intake_code_counter"})
