"""Routing's tables (SQLModel). Names start with ``routing_``."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from motcua.shared.db import UTCDateTime, utcnow


class RoutedDossier(SQLModel, table=True):
    __tablename__ = "routing_dossier"

    code: str = Field(primary_key=True, max_length=40)
    procedure_code: str = Field(max_length=32)
    status: int
    holder_agency_code: str | None = Field(default=None, max_length=32, index=True)
    current_step: int = 0
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime, nullable=False)
    )


ROUTING_TABLES = frozenset({"routing_dossier"})
