"""HTTP routes for what happens to a received dossier at the desk afterwards:
the supplement an agency asked for, and withdrawal at the citizen's request
(decided in :mod:`motcua.intake.followups`, written by
:mod:`motcua.intake.commands`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from motcua.intake import commands
from motcua.intake.api_common import (
    CONFLICT,
    ERRORS,
    NOT_FOUND,
    Ctx,
    DossierCode,
    IdemKey,
    Officer,
    load_dossier,
)
from motcua.intake.context import IntakeContext
from motcua.intake.idempotency import IdempotencyKey, once
from motcua.intake.schemas import (
    SupplementIn,
    SupplementOut,
    WithdrawalIn,
    WithdrawalOut,
)
from motcua.shared.auth import Principal

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
    async with ctx.runtime.transaction() as session:
        record, taken = await commands.take_supplement(
            session, ctx, code, body.components, body.note
        )
        out = SupplementOut(
            code=code,
            status=record.status,
            status_label=taken.status.label_vi,
            received_at=taken.received_at,
        )
        if key is not None:
            key.remember(session, 201, out.model_dump(mode="json"))
    log.info("supplement_recorded", dossier_code=code, components=len(taken.components))
    return out


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
    async with ctx.runtime.transaction() as session:
        record, withdrawal = await commands.withdraw(session, ctx, code, body.reason)
        out = WithdrawalOut(
            code=code,
            status=record.status,
            status_label=withdrawal.status.label_vi,
            withdrawn_at=withdrawal.withdrawn_at,
        )
        if key is not None:
            key.remember(session, 201, out.model_dump(mode="json"))
    log.info("dossier_withdrawn", dossier_code=code)
    return out
