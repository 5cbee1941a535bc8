"""Portal's HTTP API for operators: the sync queue, parked items and resend."""

from __future__ import annotations

from datetime import datetime
from importlib.resources import files
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlmodel import col

from motcua.portal.client import PortalUnavailableError
from motcua.portal.outbound import PARKED
from motcua.portal.queue import sync_overview
from motcua.portal.reconcile import period_bound
from motcua.portal.reconciliation import reconcile
from motcua.portal.sender import Sender, resend
from motcua.portal.tables import PortalItem
from motcua.shared.auth import Principal, Role, require
from motcua.shared.errors import ApiError
from motcua.shared.service import ServiceRuntime

router = APIRouter(prefix="/api/v1/portal", tags=["portal"])
pages = APIRouter(tags=["console"])
Operator = Annotated[Principal, Depends(require(Role.OPERATOR, Role.ADMIN))]


class ParkedItem(BaseModel):
    id: int
    dossier_code: str
    service: str = Field(description="`DongBoHoSoMC` or `CapNhatTienDoHoSoMC`.")
    attempts: int
    last_error: str | None = Field(description="The portal's error code and message.")
    parked_at: datetime | None
    event_at: datetime | None


class Resent(BaseModel):
    resent: list[int] = Field(description="Items put back in the queue.")


class SyncOverview(BaseModel):
    pending: int = Field(description="Items waiting to be sent (or retried).")
    parked: int = Field(description="Items parked after their last attempt.")
    acknowledged_last_hour: int
    lag_p50_s: float | None = Field(
        description="Median act → acknowledgement over the last hour's items."
    )
    lag_p99_s: float | None
    last_reconciliation: dict[str, object] | None


def _runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


@router.get("/parked", summary="Sync items parked after their last attempt")
async def parked_items(request: Request, _who: Operator) -> list[ParkedItem]:
    async with _runtime(request).sessions() as session:
        rows = (
            await session.execute(
                sa.select(PortalItem)
                .where(col(PortalItem.state) == PARKED)
                .order_by(col(PortalItem.id))
                .limit(1000)
            )
        ).scalars()
        return [
            ParkedItem(
                id=r.id or 0,
                dossier_code=r.dossier_code,
                service=r.kind,
                attempts=r.attempts,
                last_error=r.last_error,
                parked_at=r.parked_at,
                event_at=r.event_at,
            )
            for r in rows
        ]


@router.post(
    "/parked/{item_id}/resend",
    summary="Send a parked item again (its dossier's later items follow it)",
    responses={404: {"description": "No parked item with this id"}},
)
async def resend_parked(item_id: int, request: Request, _who: Operator) -> Resent:
    async with _runtime(request).transaction() as session:
        ids = await resend(session, [item_id])
    if not ids:
        raise ApiError(404, "not_parked", f"Không có mục đồng bộ bị dừng số {item_id}.")
    sender: Sender = request.app.state.sender
    sender.wake()
    return Resent(resent=ids)


@router.get(
    "/reconciliation",
    summary="Compare our dossiers and steps with the portal's copy (TraCuuHoSo)",
    description="Every dossier the portal was told about, created in "
    "[`from`, `to`) (ISO dates are whole days in Vietnam's time), looked up on "
    "the portal; each difference listed: `missing_dossier`, `wrong_status`, "
    "`missing_step`, `extra_step`. `motcua portal resync` repairs them.",
    responses={
        422: {"description": "A bound is not an ISO date or date-time"},
        503: {"description": "The portal could not be reached"},
    },
)
async def reconciliation(
    request: Request,
    _who: Operator,
    start: Annotated[str | None, Query(alias="from")] = None,
    end: Annotated[str | None, Query(alias="to")] = None,
) -> dict[str, Any]:
    try:
        since, until = period_bound(start), period_bound(end, end=True)
    except ValueError:
        raise ApiError(
            422,
            "period_invalid",
            "Khoảng thời gian không hợp lệ (ngày dạng YYYY-MM-DD).",
        ) from None
    try:
        report = await reconcile(
            _runtime(request).sessions,
            request.app.state.client,
            since=since,
            until=until,
        )
    except PortalUnavailableError:
        raise ApiError(
            503,
            "portal_unavailable",
            "Không kết nối được Cổng Dịch vụ công quốc gia, vui lòng thử lại sau.",
        ) from None
    return report.as_dict()


@router.get("/sync", summary="The sync queue, lag and last reconciliation")
async def sync_status(request: Request, _who: Operator) -> SyncOverview:
    async with _runtime(request).sessions() as session:
        return SyncOverview(**await sync_overview(session))


@pages.get("/console", response_class=HTMLResponse, include_in_schema=False)
async def console_page() -> str:
    """The operators' page: sync lag, parked items (resend), reconciliation."""
    return (files("motcua.portal") / "static" / "console.html").read_text("utf-8")
