"""Reporting HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from motcua.reporting.tables import TimelineEntry
from motcua.shared.auth import Principal, Role, require
from motcua.shared.contracts import VN_TZ
from motcua.shared.errors import ApiError, ErrorResponse
from motcua.shared.service import ServiceRuntime

router = APIRouter(prefix="/api/v1", tags=["timelines"])

Staff = Annotated[
    Principal,
    Depends(
        require(
            Role.OPERATOR,
            Role.DESK_OFFICER,
            Role.AGENCY_OFFICER,
            Role.SUPERVISOR,
            Role.ADMIN,
        )
    ),
]


class TimelineItem(BaseModel):
    event_id: str
    event_type: str
    occurred_at: datetime
    service: str
    agency_code: str | None
    trace_id: str | None
    topic: str
    partition: int
    offset: int


class Timeline(BaseModel):
    dossier_code: str
    events: list[TimelineItem]


@router.get(
    "/dossiers/{code}/timeline",
    response_model=Timeline,
    responses={404: {"model": ErrorResponse}, 401: {"model": ErrorResponse}},
    summary="Every event of a dossier across services, in order",
)
async def timeline(code: str, _staff: Staff, request: Request) -> Timeline:
    runtime: ServiceRuntime = request.app.state.runtime
    t = TimelineEntry.__table__  # type: ignore[attr-defined]
    async with runtime.sessions() as session:
        rows = (
            await session.execute(
                sa.select(t)
                .where(t.c.dossier_code == code)
                .order_by(t.c.occurred_at, t.c.projected_at)
            )
        ).all()
    if not rows:
        raise ApiError(
            404, "dossier_not_found", f"Chưa có sự kiện nào của hồ sơ {code}."
        )
    return Timeline(
        dossier_code=code,
        events=[
            TimelineItem(
                event_id=str(r.event_id),
                event_type=r.event_type,
                occurred_at=r.occurred_at.astimezone(VN_TZ),
                service=r.producer,
                agency_code=r.agency_code,
                trace_id=r.trace_id,
                topic=r.topic,
                partition=r.partition,
                offset=r.offset,
            )
            for r in rows
        ],
    )
