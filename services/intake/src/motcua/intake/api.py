"""Intake HTTP API for dossiers: thin adapters over the domain and the outbox."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal

import sqlalchemy as sa
import structlog
from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.intake import catalogue_store
from motcua.intake.catalogue import Procedure
from motcua.intake.codes import DailyLimitReachedError, format_dossier_code
from motcua.intake.context import IntakeContext, intake_context
from motcua.intake.forms import build_view, render_html, render_pdf
from motcua.intake.idempotency import IdempotencyKey, once
from motcua.intake.reception import (
    Outcome,
    appointment,
    can_take_supplement,
    can_withdraw,
    missing_components,
    unknown_components,
    workflow_for,
)
from motcua.intake.repository import next_sequence
from motcua.intake.schemas import (
    AGENCY_CODE_PATTERN,
    ComponentIn,
    DossierDetail,
    DossierIn,
    DossierList,
    DossierOut,
    FormLinks,
    PersonIn,
    SupplementIn,
    SupplementOut,
    WithdrawalIn,
    WithdrawalOut,
)
from motcua.intake.tables import DossierRecord
from motcua.shared.auth import Principal, Role, decode_token, require
from motcua.shared.contracts import VN_TZ, new_event
from motcua.shared.contracts.common import (
    Channel,
    DossierStatus,
    FiledBy,
    NotificationChannel,
    ResultDelivery,
)
from motcua.shared.contracts.dossier import (
    DossierCompletionRequestedV1,
    DossierEventData,
    DossierReceivedV1,
    DossierRefusedV1,
    DossierSupplementReceivedV1,
    DossierWithdrawnV1,
    Person,
    PostalAddress,
    SubmittedComponent,
)
from motcua.shared.errors import ApiError, ErrorDetail, ErrorResponse
from motcua.shared.messaging import add_event

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/api/v1", tags=["dossiers"])

Officer = Annotated[
    Principal, Depends(require(Role.DESK_OFFICER, Role.PORTAL, Role.HELPER))
]
Staff = Annotated[
    Principal,
    Depends(
        require(
            Role.DESK_OFFICER,
            Role.PORTAL,
            Role.HELPER,
            Role.SUPERVISOR,
            Role.OPERATOR,
            Role.AGENCY_OFFICER,
        )
    ),
]
Ctx = Annotated[IntakeContext, Depends(intake_context)]
IdemKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Makes a retry safe: the same key with the same body returns "
        "the first answer and writes nothing.",
        max_length=200,
    ),
]
DossierCode = Annotated[
    str,
    Path(
        max_length=40,
        description="`<agency e-ID>-<yyMMdd>-<NNNN>`",
        examples=["000.01.31.H14-260302-0001"],
    ),
]

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "No or invalid bearer token"},
    403: {"model": ErrorResponse, "description": "Another agency's dossier"},
    422: {"model": ErrorResponse, "description": "Invalid input, per field"},
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "No such dossier"}
}
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorResponse, "description": "Not allowed in this status"}
}


def _invalid(*details: ErrorDetail) -> ApiError:
    return ApiError(
        422,
        "validation_failed",
        "Thông tin chưa hợp lệ, vui lòng kiểm tra các trường được nêu.",
        list(details),
    )


def _filed_by(principal: Principal) -> FiledBy:
    if principal.has_any([Role.DESK_OFFICER]):
        return FiledBy.DESK_OFFICER
    if principal.has_any([Role.HELPER]):
        return FiledBy.HELPER
    return FiledBy.ONLINE_PORTAL


def _person(person: PersonIn | None) -> Person | None:
    return Person(**person.model_dump()) if person else None


# -- receiving -------------------------------------------------------------------


@router.post(
    "/dossiers",
    status_code=201,
    response_model=DossierOut,
    responses={**_ERRORS, **_CONFLICT},
    summary="Receive a dossier (tiếp nhận hồ sơ), or record form 02 / form 03",
    description="`outcome=received` (default) gives the code and the appointment "
    "(form 01) and publishes `dossier.received`; `completion_requested` records "
    "what to complete (form 02, `dossier.completion_requested`); `refused` "
    "records the refusal (form 03, `dossier.refused`). Officers receive only at "
    "their own agency.",
)
async def receive_dossier(
    body: DossierIn, officer: Officer, ctx: Ctx, idempotency_key: IdemKey = None
) -> Response:
    officer.ensure_agency(body.receiving_agency_code)
    key = IdempotencyKey.of(
        idempotency_key, officer, "POST /dossiers", body.model_dump_json().encode()
    )

    async def perform() -> JSONResponse:
        async with ctx.runtime.sessions() as session:
            published = await catalogue_store.find_current(session, body.procedure_code)
        procedure = _check_dossier(ctx, body, published)
        assert published is not None
        out = await _record(ctx, body, officer, procedure, published.version, key)
        return JSONResponse(status_code=201, content=out.model_dump(mode="json"))

    return await once(ctx.runtime.sessions, key, perform)


def _check_dossier(
    ctx: IntakeContext,
    body: DossierIn,
    published: catalogue_store.PublishedProcedure | None,
) -> Procedure:
    """Checks that need the catalogue and the registry; 422 with every problem."""
    problems: list[ErrorDetail] = []
    agency = ctx.registry.find(body.receiving_agency_code)
    today = ctx.now().date()
    if agency is None or not agency.active_on(today):
        problems.append(
            ErrorDetail(
                field="receiving_agency_code",
                message="Không có cơ quan đang hoạt động với mã này.",
            )
        )
    elif not agency.has_type("one_stop_centre"):
        problems.append(
            ErrorDetail(
                field="receiving_agency_code",
                message=f"{agency.name} không phải nơi tiếp nhận hồ sơ (bộ phận một cửa).",
            )
        )
    if published is None:
        problems.append(
            ErrorDetail(
                field="procedure_code",
                message=f"Thủ tục {body.procedure_code} không có trong danh mục đã công bố.",
            )
        )
        raise _invalid(*problems)
    procedure = published.procedure
    problems += _procedure_problems(procedure, body)
    if problems:
        raise _invalid(*problems)
    return procedure


def _procedure_problems(procedure: Procedure, body: DossierIn) -> list[ErrorDetail]:
    problems: list[ErrorDetail] = []
    if body.channel not in procedure.channels:
        allowed = ", ".join(c.value for c in procedure.channels)
        problems.append(
            ErrorDetail(
                field="channel",
                message=f"Thủ tục này không nhận hồ sơ qua kênh {body.channel.value} "
                f"(được phép: {allowed}).",
            )
        )
    if body.result_delivery is ResultDelivery.POST and body.postal_address is None:
        problems.append(
            ErrorDetail(
                field="postal_address",
                message="Cần địa chỉ nhận kết quả khi trả kết quả qua bưu chính.",
            )
        )
    submitted = [c.code for c in body.components or []]
    unknown = unknown_components(procedure, submitted)
    if unknown:
        problems.append(
            ErrorDetail(
                field="components",
                message="Không thuộc thành phần hồ sơ của thủ tục: "
                + ", ".join(unknown)
                + ".",
            )
        )
    match body.outcome:
        case Outcome.RECEIVED if body.components is not None:
            missing = missing_components(procedure, submitted)
            if missing:
                problems.append(
                    ErrorDetail(
                        field="components",
                        message="Thiếu thành phần hồ sơ bắt buộc: "
                        + "; ".join(missing)
                        + ". Hãy lập phiếu yêu cầu bổ sung (mẫu 02).",
                    )
                )
        case Outcome.REFUSED if not [r for r in body.reasons if r.strip()]:
            problems.append(
                ErrorDetail(
                    field="reasons", message="Cần nêu rõ lý do từ chối tiếp nhận."
                )
            )
        case Outcome.COMPLETION_REQUESTED if not body.missing_components:
            problems.append(
                ErrorDetail(
                    field="missing_components",
                    message="Cần nêu các thành phần hồ sơ phải bổ sung, hoàn thiện.",
                )
            )
        case _:
            pass
    return problems


def _components(
    procedure: Procedure, given: list[ComponentIn] | None
) -> list[SubmittedComponent]:
    if given is None:
        return [
            SubmittedComponent(
                code=c.code, name=c.name, original=c.original, copies=c.copies
            )
            for c in procedure.required_components()
        ]
    result: list[SubmittedComponent] = []
    for item in given:
        listed = procedure.component(item.code)
        if listed is None:
            continue
        result.append(
            SubmittedComponent(
                code=item.code,
                name=listed.name,
                original=listed.original if item.original is None else item.original,
                copies=item.copies or listed.copies,
            )
        )
    return result


def _notify_channels(body: DossierIn) -> list[NotificationChannel]:
    if body.notify_channels is not None:
        return body.notify_channels
    chosen: list[NotificationChannel] = []
    if body.applicant.phone:
        chosen.append(NotificationChannel.SMS)
    if body.applicant.email:
        chosen.append(NotificationChannel.EMAIL)
    if body.result_delivery is ResultDelivery.POST:
        chosen.append(NotificationChannel.POST)
    return chosen


def _missing_names(procedure: Procedure, codes: list[str]) -> list[str]:
    names: list[str] = []
    for code in codes:
        listed = procedure.component(code)
        names.append(listed.name if listed else code)
    return names


async def _record(
    ctx: IntakeContext,
    body: DossierIn,
    officer: Principal,
    procedure: Procedure,
    version: int,
    key: IdempotencyKey | None,
) -> DossierOut:
    received_at = ctx.now()
    components = _components(procedure, body.components)
    limit = procedure.time_limit(body.channel)
    terms = appointment(ctx.calendar, received_at, limit)
    is_received = body.outcome is Outcome.RECEIVED
    status = {
        Outcome.RECEIVED: DossierStatus.RECEIVED,
        Outcome.COMPLETION_REQUESTED: DossierStatus.SUBMITTED,
        Outcome.REFUSED: DossierStatus.REFUSED,
    }[body.outcome]
    details: dict[str, Any] = {
        "outcome": body.outcome.value,
        "summary": body.summary,
        "representative": body.representative.model_dump()
        if body.representative
        else None,
        "components": [c.model_dump() for c in components],
        "result_delivery": body.result_delivery.value,
        "postal_address": body.postal_address.model_dump()
        if body.postal_address
        else None,
        "notify_channels": [c.value for c in _notify_channels(body)],
        "fee_vnd": procedure.fee_vnd,
        "reasons": [r.strip() for r in body.reasons if r.strip()],
        "missing_components": _missing_names(procedure, body.missing_components),
        "instructions": body.instructions,
    }
    try:
        async with ctx.runtime.transaction() as session:
            sequence = await next_sequence(
                session, body.receiving_agency_code, received_at.date()
            )
            code = format_dossier_code(
                body.receiving_agency_code, received_at.date(), sequence
            )
            record = DossierRecord(
                code=code,
                procedure_code=procedure.code,
                procedure_version=version,
                procedure_name=procedure.name,
                receiving_agency_code=body.receiving_agency_code,
                channel=body.channel.value,
                status=int(status),
                status_changed_at=received_at,
                received_at=received_at,
                clock_started_at=terms.clock_started_at if is_received else None,
                due_at=terms.due_at if is_received else None,
                time_limit=str(limit) if is_received else None,
                applicant=body.applicant.model_dump(),
                details=details,
                filed_by=_filed_by(officer).value,
                officer=officer.name,
            )
            session.add(record)
            data = _reception_event(ctx, body, procedure, version, record, components)
            _emit(session, ctx, data, record, received_at)
            out = _out(ctx, record)
            if key is not None:
                key.remember(session, 201, out.model_dump(mode="json"))
    except DailyLimitReachedError as exc:
        raise ApiError(
            409,
            "daily_code_limit",
            "Cơ quan đã dùng hết 9.999 mã hồ sơ trong ngày.",
        ) from exc
    log.info(
        "dossier_recorded",
        dossier_code=code,
        outcome=body.outcome.value,
        procedure_code=procedure.code,
        channel=body.channel.value,
    )
    return out


def _reception_event(
    ctx: IntakeContext,
    body: DossierIn,
    procedure: Procedure,
    version: int,
    record: DossierRecord,
    components: list[SubmittedComponent],
) -> DossierEventData:
    applicant = _person(body.applicant)
    assert applicant is not None
    if body.outcome is Outcome.REFUSED:
        return DossierRefusedV1(
            procedure_code=procedure.code,
            receiving_agency_code=record.receiving_agency_code,
            channel=body.channel,
            reasons=record.details["reasons"],
            applicant=applicant,
        )
    if body.outcome is Outcome.COMPLETION_REQUESTED:
        return DossierCompletionRequestedV1(
            procedure_code=procedure.code,
            receiving_agency_code=record.receiving_agency_code,
            channel=body.channel,
            missing_components=record.details["missing_components"],
            instructions=body.instructions,
            applicant=applicant,
        )
    field = ctx.catalogue.field(procedure.field_code)
    return DossierReceivedV1(
        procedure_code=procedure.code,
        procedure_name=procedure.name,
        procedure_version=version,
        field_code=procedure.field_code,
        field_name=field.name if field else None,
        procedure_level=procedure.level,
        inter_agency=procedure.inter_agency,
        competent_agency_type=procedure.competent_agency_type,
        channel=body.channel,
        receiving_agency_code=record.receiving_agency_code,
        received_at=record.received_at,
        clock_started_at=record.clock_started_at,
        due_at=record.due_at,
        time_limit=record.time_limit,
        applicant=applicant,
        representative=_person(body.representative),
        result_delivery=body.result_delivery,
        postal_address=PostalAddress(**body.postal_address.model_dump())
        if body.postal_address
        else None,
        filed_by=FiledBy(record.filed_by),
        components=components,
        workflow=workflow_for(procedure, body.channel),
        notify_channels=_notify_channels(body),
        fee_vnd=procedure.fee_vnd,
    )


def _emit(
    session: AsyncSession,
    ctx: IntakeContext,
    data: DossierEventData,
    record: DossierRecord,
    occurred_at: datetime,
) -> None:
    event = new_event(
        data,
        dossier_code=record.code,
        producer=ctx.runtime.name,
        agency_code=record.receiving_agency_code,
        occurred_at=occurred_at,
    )
    add_event(session, event, topic=data.TOPIC)


def _out(ctx: IntakeContext, record: DossierRecord) -> DossierOut:
    status = DossierStatus(record.status)
    outcome = Outcome(record.details.get("outcome", Outcome.RECEIVED.value))
    form = outcome.form
    sig = ctx.sign_form_link(record.code, form) if not record.imported else None
    base = f"/api/v1/dossiers/{record.code}/forms/{form}"
    return DossierOut(
        code=record.code,
        status=int(status),
        status_label=status.label_vi,
        outcome=outcome,
        procedure_code=record.procedure_code,
        procedure_name=record.procedure_name,
        procedure_version=record.procedure_version,
        receiving_agency_code=record.receiving_agency_code,
        channel=Channel(record.channel),
        received_at=record.received_at.astimezone(VN_TZ),
        clock_started_at=_vn(record.clock_started_at),
        due_at=_vn(record.due_at),
        time_limit=record.time_limit,
        form=FormLinks(html=f"{base}?sig={sig}", pdf=f"{base}?format=pdf&sig={sig}")
        if sig
        else None,
    )


def _vn(moment: datetime | None) -> datetime | None:
    return moment.astimezone(VN_TZ) if moment is not None else None


# -- reading ---------------------------------------------------------------------


async def _load(ctx: IntakeContext, code: str) -> DossierRecord:
    async with ctx.runtime.sessions() as session:
        record = await session.get(DossierRecord, code)
    if record is None:
        raise ApiError(404, "dossier_not_found", f"Không tìm thấy hồ sơ {code}.")
    return record


@router.get(
    "/dossiers/{code}",
    response_model=DossierDetail,
    responses={**_ERRORS, **_NOT_FOUND},
    summary="A dossier as received, with its current status",
)
async def get_dossier(code: DossierCode, staff: Staff, ctx: Ctx) -> DossierDetail:
    record = await _load(ctx, code)
    staff.ensure_agency(record.receiving_agency_code)
    out = _out(ctx, record)
    return DossierDetail(
        **out.model_dump(),
        applicant=record.applicant,
        details=record.details,
        supplement_requested=record.supplement_requested,
        filed_by=record.filed_by,
        imported=record.imported,
    )


@router.get(
    "/dossiers",
    response_model=DossierList,
    responses=_ERRORS,
    summary="Dossiers received at an agency (newest first)",
)
async def list_dossiers(
    staff: Staff,
    ctx: Ctx,
    agency: Annotated[
        str | None,
        Query(
            pattern=AGENCY_CODE_PATTERN,
            description="Receiving agency; default: the caller's.",
            examples=["000.01.31.H14"],
        ),
    ] = None,
    status: Annotated[
        int | None, Query(ge=1, le=10, description="National status code 1–10.")
    ] = None,
    received_on: Annotated[
        date | None, Query(description="Day of reception (Vietnam time).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DossierList:
    agency_code = agency or staff.agency_code
    staff.ensure_agency(agency_code)
    t = DossierRecord.__table__  # type: ignore[attr-defined]
    query = sa.select(DossierRecord).order_by(sa.desc(t.c.received_at)).limit(limit)
    if agency_code != "*":
        query = query.where(t.c.receiving_agency_code == agency_code)
    if status is not None:
        query = query.where(t.c.status == status)
    if received_on is not None:
        start = datetime.combine(received_on, time.min, tzinfo=VN_TZ)
        query = query.where(
            t.c.received_at >= start, t.c.received_at < start + timedelta(days=1)
        )
    async with ctx.runtime.sessions() as session:
        records = (await session.execute(query)).scalars().all()
    return DossierList(items=[_out(ctx, r) for r in records])


# -- supplements and withdrawal ------------------------------------------------------


@router.post(
    "/dossiers/{code}/supplements",
    status_code=201,
    response_model=SupplementOut,
    responses={**_ERRORS, **_NOT_FOUND, **_CONFLICT},
    summary="Record the supplement an agency asked for (bổ sung hồ sơ)",
    description="Accepted only while the dossier waits for a supplement (status 5, "
    "learnt from routing's `dossier.supplement_requested`); publishes "
    "`dossier.supplement_received`, on which routing resumes the clock.",
)
async def receive_supplement(
    code: DossierCode,
    body: SupplementIn,
    officer: Officer,
    ctx: Ctx,
    idempotency_key: IdemKey = None,
) -> Response:
    return await _act(
        ctx,
        officer,
        code,
        "supplements",
        body,
        idempotency_key,
        lambda key: _supplement(ctx, code, body, key),
    )


async def _act(
    ctx: IntakeContext,
    officer: Principal,
    code: str,
    action: str,
    body: BaseModel,
    idempotency_key: str | None,
    perform: Callable[[IdempotencyKey | None], Awaitable[BaseModel]],
) -> Response:
    """An action on a received dossier by its agency's staff, made safe to
    retry with an ``Idempotency-Key``."""
    record = await _load(ctx, code)
    officer.ensure_agency(record.receiving_agency_code)
    key = IdempotencyKey.of(
        idempotency_key,
        officer,
        f"POST /dossiers/{code}/{action}",
        body.model_dump_json().encode(),
    )

    async def respond() -> JSONResponse:
        out = await perform(key)
        return JSONResponse(status_code=201, content=out.model_dump(mode="json"))

    return await once(ctx.runtime.sessions, key, respond)


async def _supplement(
    ctx: IntakeContext, code: str, body: SupplementIn, key: IdempotencyKey | None
) -> SupplementOut:
    now = ctx.now()
    async with ctx.runtime.sessions() as session:
        record = await session.get(DossierRecord, code)
        assert record is not None
        published = await catalogue_store.find_version(
            session, record.procedure_code, record.procedure_version or 1
        )
    procedure = published.procedure if published else None
    components = _supplied(procedure, body.components)
    async with ctx.runtime.transaction() as session:
        record = await session.get(DossierRecord, code, with_for_update=True)
        assert record is not None
        if not can_take_supplement(DossierStatus(record.status)):
            raise ApiError(
                409,
                "supplement_not_requested",
                f"Hồ sơ {code} không ở trạng thái chờ bổ sung; chỉ nhận bổ sung "
                "khi cơ quan giải quyết đã yêu cầu.",
            )
        record.status = int(DossierStatus.IN_PROGRESS)
        record.status_changed_at = now
        record.supplement_requested = None
        record.details = {
            **record.details,
            "supplements": [
                *record.details.get("supplements", []),
                {
                    "received_at": now.isoformat(),
                    "components": [c.model_dump() for c in components],
                    "note": body.note,
                },
            ],
        }
        data = DossierSupplementReceivedV1(
            received_at=now, components=components, note=body.note
        )
        _emit(session, ctx, data, record, now)
        out = SupplementOut(
            code=code,
            status=record.status,
            status_label=DossierStatus(record.status).label_vi,
            received_at=now,
        )
        if key is not None:
            key.remember(session, 201, out.model_dump(mode="json"))
    log.info("supplement_recorded", dossier_code=code, components=len(components))
    return out


def _supplied(
    procedure: Procedure | None, given: list[ComponentIn]
) -> list[SubmittedComponent]:
    result: list[SubmittedComponent] = []
    for item in given:
        listed = procedure.component(item.code) if procedure else None
        result.append(
            SubmittedComponent(
                code=item.code,
                name=listed.name if listed else item.code,
                original=bool(item.original),
                copies=item.copies or 1,
            )
        )
    return result


@router.post(
    "/dossiers/{code}/withdrawal",
    status_code=201,
    response_model=WithdrawalOut,
    responses={**_ERRORS, **_NOT_FOUND, **_CONFLICT},
    summary="Withdraw a dossier at the citizen's request (rút hồ sơ)",
    description="Publishes `dossier.withdrawn` (status 7). Refused, withdrawn "
    "and delivered dossiers cannot be withdrawn.",
)
async def withdraw(
    code: DossierCode,
    body: WithdrawalIn,
    officer: Officer,
    ctx: Ctx,
    idempotency_key: IdemKey = None,
) -> Response:
    return await _act(
        ctx,
        officer,
        code,
        "withdrawal",
        body,
        idempotency_key,
        lambda key: _withdraw(ctx, code, body, key),
    )


async def _withdraw(
    ctx: IntakeContext, code: str, body: WithdrawalIn, key: IdempotencyKey | None
) -> WithdrawalOut:
    now = ctx.now()
    async with ctx.runtime.transaction() as session:
        record = await session.get(DossierRecord, code, with_for_update=True)
        assert record is not None
        status = DossierStatus(record.status)
        if not can_withdraw(status):
            raise ApiError(
                409,
                "withdrawal_not_allowed",
                f"Hồ sơ {code} đang ở trạng thái “{status.label_vi}”, không thể rút.",
            )
        record.status = int(DossierStatus.WITHDRAWN)
        record.status_changed_at = now
        record.details = {
            **record.details,
            "withdrawal": {"at": now.isoformat(), "reason": body.reason},
        }
        _emit(session, ctx, DossierWithdrawnV1(reason=body.reason), record, now)
        out = WithdrawalOut(
            code=code,
            status=record.status,
            status_label=DossierStatus.WITHDRAWN.label_vi,
            withdrawn_at=now,
        )
        if key is not None:
            key.remember(session, 201, out.model_dump(mode="json"))
    log.info("dossier_withdrawn", dossier_code=code)
    return out


# -- printable forms -------------------------------------------------------------------

_optional_bearer = HTTPBearer(auto_error=False, description="JWT, or use `sig`")


@router.get(
    "/dossiers/{code}/forms/{form}",
    response_class=Response,
    responses={
        200: {
            "content": {"text/html": {}, "application/pdf": {}},
            "description": "The printable form",
        },
        **_ERRORS,
        **_NOT_FOUND,
    },
    summary="Printable form 01 (receipt and appointment), 02 or 03",
    description="Open with the signed link returned on reception (`sig`), or "
    "with a bearer token of the receiving agency. `format=pdf` for a PDF.",
)
async def form(
    code: DossierCode,
    form: Annotated[Literal["01", "02", "03"], Path(description="Form number.")],
    request: Request,
    ctx: Ctx,
    credentials: Annotated[
        HTTPAuthorizationCredentials | None, Depends(_optional_bearer)
    ],
    format: Annotated[Literal["html", "pdf"], Query()] = "html",
    sig: Annotated[
        str | None, Query(max_length=1000, description="Signed link token.")
    ] = None,
) -> Response:
    record = await _load(ctx, code)
    if sig is None or not ctx.form_link_valid(sig, code, form):
        if credentials is None:
            raise ApiError(
                401, "token_missing", "Cần đăng nhập hoặc đường dẫn có chữ ký hợp lệ."
            )
        principal = decode_token(
            request.app.state.common_settings, credentials.credentials
        )
        principal.ensure_agency(record.receiving_agency_code)
    outcome = Outcome(record.details.get("outcome", Outcome.RECEIVED.value))
    if outcome.form != form:
        raise ApiError(
            404,
            "form_not_available",
            f"Hồ sơ {code} không có mẫu {form} (hồ sơ này có mẫu {outcome.form}).",
        )
    agency = ctx.registry.find(record.receiving_agency_code)
    province = ctx.province_of(record.receiving_agency_code)
    view = build_view(
        form=form,
        record=record,
        agency_name=agency.name if agency else record.receiving_agency_code,
        agency_address=agency.address if agency else "",
        province_name=province.name if province else "",
        lookup_base_url=ctx.settings.public_lookup_url,
    )
    if format == "pdf":
        return Response(
            render_pdf(view),
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{code}-mau{form}.pdf"'},
        )
    return HTMLResponse(render_html(view))
