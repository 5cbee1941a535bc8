"""Public reference data over HTTP: procedures, fields, agencies, due dates;
and the administrator's catalogue edits."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Body, Depends, Path, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from motcua.intake import catalogue_store
from motcua.intake.catalogue import (
    OnlineLevel,
    Procedure,
    PublishedProcedure,
    load_catalogue,
    workflow_problems,
)
from motcua.intake.context import IntakeContext, intake_context
from motcua.intake.reception import appointment
from motcua.intake.schemas import AGENCY_CODE_PATTERN, DueDateOut
from motcua.shared.auth import Principal, Role, require
from motcua.shared.contracts import VN_TZ
from motcua.shared.contracts.common import AgencyLevel, Channel
from motcua.shared.domain.agencies import Agency
from motcua.shared.domain.calendar import TimeLimit
from motcua.shared.errors import ApiError, ErrorDetail, ErrorResponse

Ctx = Annotated[IntakeContext, Depends(intake_context)]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
ProcedureCode = Annotated[
    str,
    Path(pattern=r"^\d\.\d{6}(\.\d{2})?$", max_length=16, examples=["1.001193"]),
]
router = APIRouter(prefix="/api/v1")

_EXAMPLE = load_catalogue().procedures[0].model_dump(mode="json")
"""The OpenAPI example of a procedure: the first of the shipped catalogue."""

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "Unknown code"},
    422: {"model": ErrorResponse, "description": "Invalid input, per field"},
}


class ProcedureSummary(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "1.001193",
                    "name": "Thủ tục đăng ký khai sinh",
                    "field_code": "ho_tich",
                    "field_name": "Hộ tịch",
                    "level": "commune",
                    "time_limits": {"default": "same-day"},
                    "fee_vnd": 0,
                    "online_level": "full",
                    "inter_agency": False,
                    "version": 1,
                }
            ]
        }
    )

    code: str
    name: str
    field_code: str
    field_name: str | None
    level: AgencyLevel
    time_limits: dict[str, str]
    fee_vnd: int
    online_level: OnlineLevel
    inter_agency: bool
    version: int


class ProcedureOut(BaseModel):
    """A published procedure version."""

    version: int
    source: str = Field(description="`file` (repository) or `api` (administrator).")
    published_by: str
    published_at: datetime
    field_name: str | None
    procedure: Procedure


class ProcedureList(BaseModel):
    items: list[ProcedureSummary]


class VersionInfo(BaseModel):
    version: int
    source: str
    published_by: str
    published_at: datetime


class FieldOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"code": "ho_tich", "name": "Hộ tịch"}]}
    )

    code: str
    name: str


class AgencyOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "000.01.31.H14",
                    "name": "Trung tâm Phục vụ hành chính công xã Kim Long",
                    "level": "commune",
                    "types": ["one_stop_centre"],
                    "parent_code": "000.00.31.H14",
                    "valid_from": "2025-07-01",
                    "valid_until": None,
                    "successor_code": None,
                    "address": "Trụ sở UBND xã Kim Long, tỉnh Mẫu",
                    "active": True,
                }
            ]
        }
    )

    code: str
    name: str
    level: AgencyLevel
    types: list[str]
    parent_code: str | None
    valid_from: date | None
    valid_until: date | None
    successor_code: str | None
    address: str
    active: bool


class AgencyDetail(AgencyOut):
    current_code: str = Field(
        description="The agency doing this one's job on the date (follows mergers)."
    )
    one_stop_centre_code: str | None
    children: list[str]


class AgencyList(BaseModel):
    items: list[AgencyOut]


def _summary(ctx: IntakeContext, published: PublishedProcedure) -> ProcedureSummary:
    p = published.procedure
    field = ctx.catalogue.field(p.field_code)
    return ProcedureSummary(
        code=p.code,
        name=p.name,
        field_code=p.field_code,
        field_name=field.name if field else None,
        level=p.level,
        time_limits=p.time_limits,
        fee_vnd=p.fee_vnd,
        online_level=p.online_level,
        inter_agency=p.inter_agency,
        version=published.version,
    )


def _procedure_out(ctx: IntakeContext, published: PublishedProcedure) -> ProcedureOut:
    field = ctx.catalogue.field(published.procedure.field_code)
    return ProcedureOut(
        version=published.version,
        source=published.source,
        published_by=published.published_by,
        published_at=published.published_at,
        field_name=field.name if field else None,
        procedure=published.procedure,
    )


def _agency_out(agency: Agency, on: date) -> AgencyOut:
    return AgencyOut(
        code=agency.code,
        name=agency.name,
        level=agency.level,
        types=sorted(agency.types),
        parent_code=agency.parent_code,
        valid_from=agency.valid_from,
        valid_until=agency.valid_until,
        successor_code=agency.successor_code,
        address=agency.address,
        active=agency.active_on(on),
    )


@router.get(
    "/procedures",
    response_model=ProcedureList,
    tags=["catalogue"],
    summary="The published procedure list (danh mục thủ tục hành chính)",
)
async def list_procedures(
    ctx: Ctx,
    field: Annotated[
        str | None,
        Query(max_length=32, description="Field code.", examples=["ho_tich"]),
    ] = None,
    level: Annotated[AgencyLevel | None, Query()] = None,
    q: Annotated[
        str | None,
        Query(max_length=100, description="Words in the name.", examples=["khai sinh"]),
    ] = None,
) -> ProcedureList:
    async with ctx.runtime.sessions() as session:
        published = await catalogue_store.list_current(session)
    items = [_summary(ctx, p) for p in published]
    if field:
        items = [i for i in items if i.field_code == field]
    if level:
        items = [i for i in items if i.level is level]
    if q:
        words = q.lower().split()
        items = [i for i in items if all(w in i.name.lower() for w in words)]
    return ProcedureList(items=items)


@router.get(
    "/procedures/{code}",
    response_model=ProcedureOut,
    responses=_NOT_FOUND,
    tags=["catalogue"],
    summary="A procedure: components, limits per channel, fees, workflow",
)
async def get_procedure(
    code: ProcedureCode,
    ctx: Ctx,
    version: Annotated[
        int | None, Query(ge=1, le=1_000_000, description="Default: the newest.")
    ] = None,
) -> ProcedureOut:
    async with ctx.runtime.sessions() as session:
        published = (
            await catalogue_store.find_version(session, code, version)
            if version
            else await catalogue_store.find_current(session, code)
        )
    if published is None:
        raise ApiError(404, "procedure_not_found", f"Không có thủ tục {code}.")
    return _procedure_out(ctx, published)


@router.get(
    "/procedures/{code}/versions",
    response_model=list[VersionInfo],
    responses=_NOT_FOUND,
    tags=["catalogue"],
    summary="Every published version of a procedure",
)
async def procedure_versions(code: ProcedureCode, ctx: Ctx) -> list[VersionInfo]:
    async with ctx.runtime.sessions() as session:
        versions = await catalogue_store.list_versions(session, code)
    if not versions:
        raise ApiError(404, "procedure_not_found", f"Không có thủ tục {code}.")
    return [
        VersionInfo(
            version=v.version,
            source=v.source,
            published_by=v.published_by,
            published_at=v.published_at,
        )
        for v in versions
    ]


@router.put(
    "/procedures/{code}",
    response_model=ProcedureOut,
    responses={
        401: {"model": ErrorResponse},
        403: {"model": ErrorResponse},
        409: {"model": ErrorResponse},
        422: {"model": ErrorResponse},
    },
    tags=["catalogue"],
    summary="Publish a new version of a procedure (administrators)",
    description="The body is the whole procedure; workflows must add up to "
    "their channel's legal limit. Dossiers keep the version they were "
    "received under.",
)
async def publish_procedure(
    code: ProcedureCode,
    admin: Admin,
    ctx: Ctx,
    procedure: Annotated[
        Procedure,
        Body(
            openapi_examples={
                "birth": {"summary": "Đăng ký khai sinh", "value": _EXAMPLE}
            }
        ),
    ],
) -> ProcedureOut:
    problems = _publish_problems(ctx, code, procedure)
    if problems:
        raise ApiError(
            422,
            "validation_failed",
            "Thủ tục chưa hợp lệ, vui lòng kiểm tra các trường được nêu.",
            problems,
        )
    try:
        async with ctx.runtime.transaction() as session:
            published = await catalogue_store.publish(
                session, procedure, published_by=admin.name
            )
    except sa.exc.IntegrityError as exc:
        raise ApiError(
            409,
            "procedure_version_conflict",
            "Một phiên bản khác vừa được công bố; vui lòng tải lại và thử lại.",
        ) from exc
    finally:
        # after the commit (or the failure): receptions read the new version
        ctx.procedures.invalidate(code)
    return _procedure_out(ctx, published)


@router.get(
    "/fields",
    response_model=list[FieldOut],
    tags=["catalogue"],
    summary="Fields (lĩnh vực) grouping the procedures",
)
async def list_fields(ctx: Ctx) -> list[FieldOut]:
    return [FieldOut(code=f.code, name=f.name) for f in ctx.catalogue.fields]


@router.get(
    "/agencies",
    response_model=AgencyList,
    tags=["agencies"],
    summary="Agencies of the province with their QCVN 102 e-ID codes",
)
async def list_agencies(
    ctx: Ctx,
    on: Annotated[
        date | None, Query(description="Active on this day; default: today.")
    ] = None,
    level: Annotated[AgencyLevel | None, Query()] = None,
    agency_type: Annotated[
        str | None,
        Query(alias="type", max_length=64, examples=["one_stop_centre"]),
    ] = None,
    include_inactive: Annotated[
        bool, Query(description="Also agencies not active on the day.")
    ] = False,
) -> AgencyList:
    day = on or ctx.now().date()
    agencies = [
        a
        for a in ctx.registry
        if (include_inactive or a.active_on(day))
        and (level is None or a.level is level)
        and (agency_type is None or a.has_type(agency_type))
    ]
    return AgencyList(items=[_agency_out(a, day) for a in agencies])


@router.get(
    "/agencies/{code}",
    response_model=AgencyDetail,
    responses=_NOT_FOUND,
    tags=["agencies"],
    summary="One agency, its successor and where its area's dossiers go",
)
async def get_agency(
    code: Annotated[str, Path(pattern=AGENCY_CODE_PATTERN, examples=["000.01.31.H14"])],
    ctx: Ctx,
    on: Annotated[date | None, Query(description="Default: today.")] = None,
) -> AgencyDetail:
    agency = ctx.registry.find(code)
    if agency is None:
        raise ApiError(404, "agency_not_found", f"Không tìm thấy cơ quan có mã {code}.")
    day = on or ctx.now().date()
    centre = ctx.registry.one_stop_centre_for(code, day)
    return AgencyDetail(
        **_agency_out(agency, day).model_dump(),
        current_code=ctx.registry.current(code, day).code,
        one_stop_centre_code=centre.code if centre else None,
        children=[a.code for a in ctx.registry.children(code)],
    )


@router.get(
    "/calendar/due-date",
    response_model=DueDateOut,
    responses={422: {"model": ErrorResponse}, 404: {"model": ErrorResponse}},
    tags=["calendar"],
    summary="The appointment a dossier received at a given time would get",
    description="Give `limit` (`3wd`, `5h`, `10d`, `same-day`), or `procedure` "
    "(and optionally `channel`) to use the procedure's published limit. A "
    "`received_at` without a time zone is read as Vietnam time; omitted: now.",
)
async def due_date(
    ctx: Ctx,
    received_at: Annotated[
        datetime | None, Query(examples=["2026-03-02T10:00:00+07:00"])
    ] = None,
    limit: Annotated[str | None, Query(max_length=16, examples=["3wd"])] = None,
    procedure: Annotated[
        str | None,
        Query(pattern=r"^\d\.\d{6}(\.\d{2})?$", max_length=16, examples=["1.001193"]),
    ] = None,
    channel: Annotated[Channel, Query()] = Channel.DIRECT,
) -> DueDateOut:
    moment = _as_vietnam_time(received_at) if received_at else ctx.now()
    time_limit = await _limit_for(ctx, limit, procedure, channel)
    try:
        terms = appointment(ctx.calendar, moment, time_limit)
    except (ValueError, OverflowError) as exc:
        raise ApiError(
            422,
            "validation_failed",
            "Không tính được ngày hẹn cho thời điểm này.",
            [ErrorDetail(field="received_at", message="Ngoài phạm vi lịch làm việc.")],
        ) from exc
    return DueDateOut(
        received_at=moment,
        clock_started_at=terms.clock_started_at,
        due_at=terms.due_at,
        limit=str(time_limit),
        working_hours=ctx.calendar.working_time_between(
            terms.clock_started_at, terms.due_at
        ).total_seconds()
        / 3600,
        procedure_code=procedure,
        channel=channel if procedure else None,
    )


def _as_vietnam_time(moment: datetime) -> AwareDatetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=VN_TZ)
    return moment.astimezone(VN_TZ)


async def _limit_for(
    ctx: IntakeContext, limit: str | None, procedure: str | None, channel: Channel
) -> TimeLimit:
    if limit is not None:
        try:
            return TimeLimit.parse(limit)
        except ValueError as exc:
            raise ApiError(
                422,
                "validation_failed",
                "Thông tin chưa hợp lệ, vui lòng kiểm tra các trường được nêu.",
                [ErrorDetail(field="limit", message=str(exc))],
            ) from exc
    if procedure is None:
        raise ApiError(
            422,
            "validation_failed",
            "Cần `limit` hoặc `procedure`.",
            [
                ErrorDetail(
                    field="limit",
                    message="Cần thời hạn (limit) hoặc mã thủ tục (procedure).",
                )
            ],
        )
    published = await ctx.procedures.get(procedure)
    if published is None:
        raise ApiError(404, "procedure_not_found", f"Không có thủ tục {procedure}.")
    return published.procedure.time_limit(channel)


def _publish_problems(
    ctx: IntakeContext, code: str, procedure: Procedure
) -> list[ErrorDetail]:
    problems: list[ErrorDetail] = []
    if procedure.code != code:
        problems.append(
            ErrorDetail(field="code", message="Mã thủ tục phải trùng với đường dẫn.")
        )
    if ctx.catalogue.field(procedure.field_code) is None:
        problems.append(
            ErrorDetail(field="field_code", message="Lĩnh vực chưa có trong danh mục.")
        )
    problems += [
        ErrorDetail(field="workflows", message=message)
        for message in workflow_problems(procedure, ctx.calendar.office.hours_per_day)
    ]
    return problems
