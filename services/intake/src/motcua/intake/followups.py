"""What happens to a received dossier at the desk afterwards: the supplement
an agency asked for, and withdrawal at the citizen's request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from motcua.intake import catalogue_store
from motcua.intake.api_common import (
    CONFLICT,
    ERRORS,
    NOT_FOUND,
    Ctx,
    DossierCode,
    IdemKey,
    Officer,
    emit,
    load_dossier,
)
from motcua.intake.catalogue import Procedure
from motcua.intake.context import IntakeContext
from motcua.intake.idempotency import IdempotencyKey, once
from motcua.intake.reception import can_take_supplement, can_withdraw
from motcua.intake.schemas import (
    ComponentIn,
    SupplementIn,
    SupplementOut,
    WithdrawalIn,
    WithdrawalOut,
)
from motcua.intake.tables import DossierRecord
from motcua.shared.auth import Principal
from motcua.shared.contracts.common import DossierStatus
from motcua.shared.contracts.dossier import (
    DossierSupplementReceivedV1,
    DossierWithdrawnV1,
    SubmittedComponent,
)
from motcua.shared.errors import ApiError
from motcua.shared.signing.store import open_chain

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/api/v1", tags=["dossiers"])


@router.post(
    "/dossiers/{code}/supplements",
    status_code=201,
    response_model=SupplementOut,
    responses={**ERRORS, **NOT_FOUND, **CONFLICT},
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
    record = await load_dossier(ctx, code)
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
        await open_chain(session, code)  # the chain's lock first (see routing)
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
        emit(session, ctx, data, record, now)
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
    responses={**ERRORS, **NOT_FOUND, **CONFLICT},
    summary="Withdraw a dossier at the citizen's request (rút hồ sơ)",
    description="Publishes `dossier.withdrawn` (status 7). Refused, stopped, "
    "withdrawn and delivered dossiers cannot be withdrawn (409).",
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
        await open_chain(session, code)  # the chain's lock first (see routing)
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
        emit(session, ctx, DossierWithdrawnV1(reason=body.reason), record, now)
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
