"""Reporting HTTP API: timelines, Biểu 06, KPIs, the citizens' lookup and rating."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request, Response
from opentelemetry import trace
from pydantic import BaseModel, Field

from motcua.reporting import periods
from motcua.reporting.agencies import agency_name
from motcua.reporting.context import ReportingContext, reporting
from motcua.reporting.exports import bieu06_csv, bieu06_xlsx
from motcua.reporting.lookup import PUBLIC_STEPS, id_matches
from motcua.reporting.queries import aggregate
from motcua.reporting.reports import (
    Bieu06Report,
    Dimension,
    KpiReport,
    build_bieu06,
    build_kpis,
)
from motcua.reporting.tables import DossierRow, TimelineEntry
from motcua.reporting.verification import verify_stored
from motcua.shared.auth import Principal, Role, require
from motcua.shared.contracts import VN_TZ, new_event, now_vn
from motcua.shared.contracts.common import DossierStatus
from motcua.shared.contracts.dossier import DossierRatedV1
from motcua.shared.domain.status import DossierAction, can
from motcua.shared.errors import ApiError, ErrorDetail, ErrorResponse
from motcua.shared.messaging import add_event
from motcua.shared.params import BusinessDate
from motcua.shared.service import ServiceRuntime

router = APIRouter(prefix="/api/v1")
_T = TypeVar("_T")

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
Context = Annotated[ReportingContext, Depends(reporting)]
_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorResponse},
    403: {"model": ErrorResponse},
    422: {"model": ErrorResponse},
}


# -- timelines -----------------------------------------------------------------------


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
    imported: bool = False
    signing: str | None = Field(
        default=None,
        description="`signed` (checked: the signer's key, its entitlement, the "
        "chain), `unsigned_legacy` (before signing, or imported history), or "
        "null for events that are not legal acts (notices).",
    )
    signer: str | None = Field(default=None, description="e-ID of the signer.")
    seq: int | None = Field(default=None, description="Position in the chain.")


class Timeline(BaseModel):
    dossier_code: str
    events: list[TimelineItem]


async def _timeline_rows(
    runtime: ServiceRuntime, code: str
) -> list[sa.Row[tuple[object, ...]]]:
    t = TimelineEntry.__table__  # type: ignore[attr-defined]
    async with runtime.sessions() as session:
        rows = await session.execute(
            sa.select(t)
            .where(t.c.dossier_code == code)
            .order_by(t.c.occurred_at, t.c.topic, t.c.partition, t.c.offset)
        )
        return list(rows.all())


@router.get(
    "/dossiers/{code}/timeline",
    response_model=Timeline,
    responses={404: {"model": ErrorResponse}, 401: {"model": ErrorResponse}},
    summary="Every event of a dossier across services, in order",
    tags=["timelines"],
)
async def timeline(code: str, staff: Staff, ctx: Context) -> Timeline:
    rows = await _timeline_rows(ctx.runtime, code)
    if not rows:
        raise ApiError(
            404, "dossier_not_found", f"Chưa có sự kiện nào của hồ sơ {code}."
        )
    if not staff.acts_for("*"):
        await _ensure_involved(ctx, staff, code, {r.agency_code for r in rows})
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
                imported=r.imported,
                signing=r.signing,
                signer=r.signer,
                seq=r.seq,
            )
            for r in rows
        ],
    )


@router.get(
    "/dossiers/{code}/verification",
    responses={
        404: {"model": ErrorResponse},
        401: {"model": ErrorResponse},
        403: {"model": ErrorResponse},
    },
    summary="Check a dossier's signed history, event by event",
    description="Each legal act of the dossier as reporting stored it, with its "
    "signer, key, signature and chain status (`valid`, `unsigned_legacy`, "
    "`signature_invalid`, `signer_not_entitled`, `chain_broken`), and what is "
    "wrong with the whole: an event missing, out of order, or recorded by a signed "
    "checkpoint and no longer there. `intact` is true when nothing is wrong. "
    "Officers of the agencies that took part, and operators.",
    tags=["timelines"],
)
async def verification(code: str, staff: Staff, ctx: Context) -> dict[str, Any]:
    runtime = ctx.runtime
    report, bodies = await verify_stored(runtime.sessions, runtime.keys, code)
    if not bodies and not report.problems:
        raise ApiError(
            404, "dossier_not_found", f"Chưa có sự kiện nào của hồ sơ {code}."
        )
    if not staff.acts_for("*"):
        await _ensure_involved(ctx, staff, code, {e.signer for e in report.events})
    return {**report.to_json(), "checked_at": now_vn().isoformat()}


async def _ensure_involved(
    ctx: ReportingContext, staff: Principal, code: str, agencies: set[str | None]
) -> None:
    """An agency's officers see the timelines of dossiers their agency touched."""
    async with ctx.runtime.sessions() as session:
        dossier = await session.get(DossierRow, code)
    if dossier is not None:
        agencies |= {dossier.receiving_agency_code, dossier.competent_agency_code}
    if staff.agency_code not in agencies:
        raise ApiError(
            403,
            "agency_forbidden",
            f"Hồ sơ {code} không thuộc cơ quan {staff.agency_code}.",
        )


# -- Biểu 06 and KPIs ----------------------------------------------------------------


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    CUSTOM = "custom"


async def report_period(  # async: no thread hop
    period: Annotated[
        PeriodKind | None,
        Query(
            description="`month`, `quarter`, `year` (official, 15th to 14th) or "
            "`custom` (`from`/`to`). Default: the current official quarter."
        ),
    ] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    month: Annotated[int | None, Query(ge=1, le=12)] = None,
    quarter: Annotated[int | None, Query(ge=1, le=4)] = None,
    first_day: Annotated[BusinessDate | None, Query(alias="from")] = None,
    last_day: Annotated[BusinessDate | None, Query(alias="to")] = None,
) -> periods.ReportPeriod:
    today = now_vn().date()
    if period is None:
        period = PeriodKind.CUSTOM if first_day or last_day else None
    if period is None:
        return periods.current_quarter(today)
    year = year or today.year
    try:
        match period:
            case PeriodKind.MONTH:
                return periods.official_month(year, _required(month, "month"))
            case PeriodKind.QUARTER:
                return periods.official_quarter(year, _required(quarter, "quarter"))
            case PeriodKind.YEAR:
                return periods.official_year(year)
            case PeriodKind.CUSTOM:
                return periods.custom_range(
                    _required(first_day, "from"), _required(last_day, "to")
                )
    except ValueError as exc:
        raise ApiError(422, "period_invalid", str(exc)) from exc
    raise AssertionError(period)


def _required(value: _T | None, name: str) -> _T:
    if value is None:
        raise ApiError(
            422,
            "period_invalid",
            "Kỳ báo cáo chưa đủ thông tin.",
            [ErrorDetail(field=name, message="Thông tin bắt buộc, chưa được nhập.")],
        )
    return value


Period = Annotated[periods.ReportPeriod, Depends(report_period)]


def _scope(staff: Principal, agencies: list[str] | None) -> list[str] | None:
    """Operators and admins see every agency; others only their own."""
    if agencies:
        for agency in agencies:
            staff.ensure_agency(agency)
        return agencies
    return None if staff.acts_for("*") else [staff.agency_code]


@router.get(
    "/reports/bieu-06",
    response_model=Bieu06Report,
    responses={
        **_ERRORS,
        200: {
            "content": {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
                "text/csv": {},
            },
            "description": "JSON, or the spreadsheet / CSV when `format` asks for it",
        },
    },
    summary="Biểu 06/VPCP/KSTT for a period (JSON, xlsx or csv)",
    tags=["reports"],
)
async def bieu06(
    staff: Staff,
    ctx: Context,
    period: Period,
    group_by: Annotated[
        list[Dimension] | None,
        Query(description="Row grouping, in order (default: level, field)."),
    ] = None,
    agency: Annotated[
        list[str] | None,
        Query(description="Only these handling agencies (repeat for several)."),
    ] = None,
    fmt: Annotated[Literal["json", "xlsx", "csv"], Query(alias="format")] = "json",
) -> Response | Bieu06Report:
    dims = group_by or [Dimension.LEVEL, Dimension.FIELD]
    async with ctx.runtime.sessions() as session:
        agg = await aggregate(session, period, dims, agencies=_scope(staff, agency))
    report = build_bieu06(agg, generated_at=now_vn())
    name = f"bieu-06_{period.first:%Y%m%d}_{period.last:%Y%m%d}"
    if fmt == "xlsx":
        return Response(
            bieu06_xlsx(report, unit=_unit(agency, ctx.settings.report_unit)),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    if fmt == "csv":
        return Response(
            bieu06_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return report


def _unit(agencies: list[str] | None, default: str) -> str:
    return ", ".join(agency_name(a) for a in agencies) if agencies else default


@router.get(
    "/reports/kpis",
    response_model=KpiReport,
    responses=_ERRORS,
    summary="KPIs and ranking of agencies for a period",
    tags=["reports"],
)
async def kpis(staff: Staff, ctx: Context, period: Period) -> KpiReport:
    async with ctx.runtime.sessions() as session:
        agg = await aggregate(
            session, period, [Dimension.AGENCY], agencies=_scope(staff, None)
        )
    return build_kpis(agg, generated_at=now_vn())


# -- the citizens' lookup and rating ---------------------------------------------------

IdNumber = Annotated[
    str,
    Query(
        min_length=6,
        max_length=20,
        pattern=r"^[0-9A-Za-z-]+$",
        description="The applicant's ID number (CCCD) or tax code.",
    ),
]
_NOT_FOUND = ApiError(
    404,
    "dossier_not_found",
    "Không tìm thấy hồ sơ với mã hồ sơ và số giấy tờ đã nhập.",
)


class PublicStep(BaseModel):
    at: datetime
    label: str


class PublicDossier(BaseModel):
    code: str
    status: int
    status_label: str
    procedure_name: str | None
    agency_name: str | None
    received_at: datetime | None
    appointment_at: datetime | None = Field(description="Ngày hẹn trả kết quả")
    steps: list[PublicStep]
    can_rate: bool


def _client(request: Request) -> str:
    """The TCP peer (``X-Forwarded-For`` counts only from the reverse proxies in
    ``MOTCUA_TRUSTED_PROXIES``, see :func:`motcua.shared.service.serve`)."""
    return request.client.host if request.client else "unknown"


def _hide_query_from_trace(request: Request) -> None:
    """The ID number is in the query string: keep it out of span attributes."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attribute(
            "http.url", str(request.url.remove_query_params("id_number"))
        )
        span.set_attribute("http.target", request.url.path)
        span.set_attribute("url.query", "")


async def _verified_dossier(
    ctx: ReportingContext, request: Request, code: str, id_number: str
) -> DossierRow:
    """The dossier, if ``id_number`` is its applicant's; otherwise the same 404
    whether the code exists or not."""
    client = _client(request)
    ctx.limits.admit(client, code)
    async with ctx.runtime.sessions() as session:
        row = await session.get(DossierRow, code)
    stored = row.id_hash if row is not None else None
    if row is None or not id_matches(stored, id_number, ctx.access.lookup_digest):
        ctx.limits.wrong_id_number(client, code)
        raise _NOT_FOUND
    return row


def _ratable(status: int) -> bool:
    """A citizen rates a dossier that has its result (the shared status table;
    0: reporting has not learnt the status yet)."""
    return bool(status) and can(DossierStatus(status), DossierAction.RATE)


@router.get(
    "/public/dossiers/{code}",
    response_model=PublicDossier,
    responses={404: {"model": ErrorResponse}, 429: {"model": ErrorResponse}},
    summary="Tra cứu hồ sơ: status, appointment and steps (no personal data)",
    tags=["public"],
)
async def public_lookup(
    code: str, id_number: IdNumber, request: Request, ctx: Context
) -> PublicDossier:
    _hide_query_from_trace(request)
    row = await _verified_dossier(ctx, request, code, id_number)
    steps = [
        PublicStep(at=r.occurred_at.astimezone(VN_TZ), label=PUBLIC_STEPS[r.event_type])
        for r in await _timeline_rows(ctx.runtime, code)
        if r.event_type in PUBLIC_STEPS
    ]
    status = DossierStatus(row.status) if row.status else None
    return PublicDossier(
        code=code,
        status=row.status,
        status_label=status.label_vi if status else "Đang cập nhật",
        procedure_name=row.procedure_name,
        agency_name=agency_name(row.agency_code) if row.agency_code else None,
        received_at=row.received_at.astimezone(VN_TZ) if row.received_at else None,
        appointment_at=row.due_at.astimezone(VN_TZ) if row.due_at else None,
        steps=steps,
        can_rate=_ratable(row.status),
    )


class RatingIn(BaseModel):
    id_number: str = Field(min_length=6, max_length=20, pattern=r"^[0-9A-Za-z-]+$")
    score: int = Field(
        ge=1, le=5, description="1 (rất không hài lòng) … 5 (rất hài lòng)"
    )
    comment: str = Field(default="", max_length=500)


class RatingAccepted(BaseModel):
    message: str


@router.post(
    "/public/dossiers/{code}/rating",
    status_code=202,
    response_model=RatingAccepted,
    responses={
        404: {"model": ErrorResponse},
        409: {"model": ErrorResponse},
        429: {"model": ErrorResponse},
    },
    summary="Đánh giá mức độ hài lòng (1–5) of a dossier that has its result",
    tags=["public"],
)
async def rate_dossier(
    code: str, body: RatingIn, request: Request, ctx: Context
) -> RatingAccepted:
    row = await _verified_dossier(ctx, request, code, body.id_number)
    if not _ratable(row.status):
        raise ApiError(
            409,
            "dossier_not_resolved",
            "Hồ sơ chưa có kết quả giải quyết nên chưa thể đánh giá.",
        )
    event = new_event(
        DossierRatedV1(score=body.score, comment=body.comment),
        dossier_code=code,
        producer=ctx.runtime.name,
        agency_code=row.agency_code,
    )
    async with ctx.runtime.transaction() as session:
        add_event(session, event, topic=event.data.TOPIC)
    return RatingAccepted(message="Cảm ơn ông/bà đã đánh giá việc giải quyết hồ sơ.")
