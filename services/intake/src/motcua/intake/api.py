"""Intake HTTP API for receiving and reading dossiers: thin adapters over
the domain and the outbox."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated, Any

import sqlalchemy as sa
import structlog
from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.intake import catalogue_store
from motcua.intake.api_common import (
    CONFLICT,
    ERRORS,
    NOT_FOUND,
    Ctx,
    DossierCode,
    IdemKey,
    Officer,
    Staff,
    emit,
    load_dossier,
    present,
)
from motcua.intake.catalogue import Procedure
from motcua.intake.codes import DailyLimitReachedError, format_dossier_code
from motcua.intake.context import IntakeContext
from motcua.intake.idempotency import (
    REPLAY_HEADER,
    IdempotencyKey,
    once_in_transaction,
)
from motcua.intake.reception import (
    Outcome,
    appointment,
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
    PersonIn,
)
from motcua.intake.tables import DossierRecord
from motcua.shared.auth import Principal, Role
from motcua.shared.contracts import VN_TZ
from motcua.shared.contracts.common import (
    FiledBy,
    NotificationChannel,
    ResultDelivery,
)
from motcua.shared.contracts.dossier import (
    DossierCompletionRequestedV1,
    DossierEventData,
    DossierReceivedV1,
    DossierRefusedV1,
    Person,
    PostalAddress,
    SubmittedComponent,
)
from motcua.shared.db import utcnow
from motcua.shared.errors import ApiError, ErrorDetail
from motcua.shared.params import BusinessDate
from motcua.shared.signing.store import open_chain

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/api/v1", tags=["dossiers"])


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
    responses={**ERRORS, **CONFLICT},
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

    published = await ctx.procedures.get(body.procedure_code)
    recorded: list[str] = []

    async def perform(session: AsyncSession) -> JSONResponse:
        procedure = _check_dossier(ctx, body, published)
        assert published is not None
        content = await _record(
            session, ctx, body, officer, procedure, published.version, key
        )
        recorded.append(content["code"])
        return JSONResponse(status_code=201, content=content)

    # the key's look-up, the checks and the writes: one transaction
    response = await once_in_transaction(
        ctx.runtime.transaction, ctx.runtime.sessions, key, perform
    )
    if recorded and REPLAY_HEADER not in response.headers:
        log.info(
            "dossier_recorded",
            dossier_code=recorded[-1],
            outcome=body.outcome.value,
            procedure_code=body.procedure_code,
            channel=body.channel.value,
        )
    return response


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
    session: AsyncSession,
    ctx: IntakeContext,
    body: DossierIn,
    officer: Principal,
    procedure: Procedure,
    version: int,
    key: IdempotencyKey | None,
) -> dict[str, Any]:
    """Write the dossier, its event and the key's answer in ``session`` (the
    caller's transaction); returns the answer's JSON body."""
    received_at = ctx.now()
    components = _components(procedure, body.components)
    limit = procedure.time_limit(body.channel)
    terms = appointment(ctx.calendar, received_at, limit)
    is_received = body.outcome is Outcome.RECEIVED
    status = body.outcome.status
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
    sequence = await next_sequence(
        session, body.receiving_agency_code, received_at.date()
    )
    try:
        code = format_dossier_code(
            body.receiving_agency_code, received_at.date(), sequence
        )
    except DailyLimitReachedError as exc:
        raise ApiError(
            409,
            "daily_code_limit",
            "Cơ quan đã dùng hết 9.999 mã hồ sơ trong ngày.",
        ) from exc
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
        # given, not defaulted: SQLModel inspects a default factory's
        # signature on every construction
        created_at=utcnow(),
    )
    session.add(record)
    data = _reception_event(ctx, body, procedure, version, record, components)
    await open_chain(session, code)  # a new code: the first link of its chain
    emit(session, ctx, data, record, received_at)
    content = present(ctx, record).model_dump(mode="json")
    if key is not None:
        key.remember(session, 201, content)
    return content


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


# -- reading ---------------------------------------------------------------------


@router.get(
    "/dossiers/{code}",
    response_model=DossierDetail,
    responses={**ERRORS, **NOT_FOUND},
    summary="A dossier as received, with its current status",
)
async def get_dossier(code: DossierCode, staff: Staff, ctx: Ctx) -> DossierDetail:
    record = await load_dossier(ctx, code)
    staff.ensure_agency(record.receiving_agency_code)
    out = present(ctx, record)
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
    responses=ERRORS,
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
        BusinessDate | None, Query(description="Day of reception (Vietnam time).")
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
    return DossierList(items=[present(ctx, r) for r in records])
