"""Portal's tables (SQLModel). Names start with ``portal_``.

The records kept here carry the dossier's people as the portal receives them
(the portal is entitled to them, ADR 0007): they never leave this database
except to the portal, and are never logged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from motcua.shared.db import UTCDateTime, utcnow


def _when(*, nullable: bool = False) -> Any:
    if nullable:
        return Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    return Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime, nullable=False)
    )


class PortalDossier(SQLModel, table=True):
    """The last ``DongBoHoSoMC`` record built for a dossier, and whether the
    portal holds the dossier (then every later record is an update)."""

    __tablename__ = "portal_dossier"
    __table_args__ = (sa.Index("ix_portal_dossier_created_at", "created_at"),)

    dossier_code: str = Field(primary_key=True, max_length=64)
    record: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    status: int = Field(default=0)
    acknowledged: bool = Field(default=False)
    """The portal answered "00" to a record of this dossier."""
    imported: bool = Field(default=False)
    created_at: datetime = _when()
    updated_at: datetime = _when()


class PortalItem(SQLModel, table=True):
    """One record or step to send, in the dossier's order (``id``)."""

    __tablename__ = "portal_item"
    __table_args__ = (
        sa.Index("ix_portal_item_open", "state", "id"),
        sa.Index("ix_portal_item_dossier", "dossier_code", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    dossier_code: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    """The portal's service: ``DongBoHoSoMC`` or ``CapNhatTienDoHoSoMC``."""
    payload: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    origin: str = Field(default="event", max_length=16)
    """``event`` (a dossier event), ``filing`` (a refused portal filing),
    ``resync`` (an operator's repair)."""
    event_id: str | None = Field(default=None, max_length=64)
    event_at: datetime | None = _when(nullable=True)
    """When the act happened (the event's time): the sync lag runs from it."""
    state: str = Field(default="pending", max_length=16)
    """``pending``, ``acked`` or ``parked``."""
    attempts: int = Field(default=0)
    next_attempt_at: datetime = _when()
    last_error: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    created_at: datetime = _when()
    acked_at: datetime | None = _when(nullable=True)
    parked_at: datetime | None = _when(nullable=True)


class PortalReconciliation(SQLModel, table=True):
    """The outcome of each reconciliation (the console shows the last)."""

    __tablename__ = "portal_reconciliation"

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = _when()
    period_from: datetime | None = _when(nullable=True)
    period_to: datetime | None = _when(nullable=True)
    dossiers: int = Field(default=0)
    differences: int = Field(default=0)
    report: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))


PORTAL_TABLES: frozenset[str] = frozenset(
    {"portal_dossier", "portal_item", "portal_reconciliation"}
)
"""The tables this service's migrations own (besides the shared messaging
and signing tables)."""
