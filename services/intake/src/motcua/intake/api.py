"""Intake HTTP API for receiving and reading dossiers: parse, call the use
case (:mod:`motcua.intake.commands`), present."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated

import sqlalchemy as sa
import structlog
from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.intake import commands
from motcua.intake.api_common import (
    CONFLICT,
    ERRORS,
    NOT_FOUND,
    Ctx,
    DossierCode,
    IdemKey,
    Officer,
    Staff,
    filed_by,
    load_dossier,
    present,
)
from motcua.intake.idempotency import (
    REPLAY_HEADER,
    IdempotencyKey,
    once_in_transaction,
)
from motcua.intake.repository import code_taken
from motcua.intake.schemas import (
    AGENCY_CODE_PATTERN,
    DossierDetail,
    DossierIn,
    DossierList,
    DossierOut,
)
from motcua.intake.tables import DossierRecord
from motcua.shared.contracts import VN_TZ
from motcua.shared.params import BusinessDate

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/api/v1", tags=["dossiers"])

_CODE_ATTEMPTS = 3


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
    key = (
        IdempotencyKey.of(
            idempotency_key, officer, "POST /dossiers", body.model_dump_json().encode()
        )
        if idempotency_key is not None  # the body's hash only when it is kept
        else None
    )
    published = await ctx.procedures.get(body.procedure_code)
    recorded: list[str] = []

    async def perform(session: AsyncSession) -> JSONResponse:
        record = await commands.receive(
            session,
            ctx,
            body,
            published=published,
            filed_by=filed_by(officer),
            officer=officer.name,
        )
        content = present(ctx, record).model_dump(mode="json")
        if key is not None:
            key.remember(session, 201, content)
        recorded.append(record.code)
        return JSONResponse(status_code=201, content=content)

    # the key's look-up, the decision and the writes: one transaction
    for attempt in range(1, _CODE_ATTEMPTS + 1):
        try:
            response = await once_in_transaction(
                ctx.runtime.transaction, ctx.runtime.sessions, key, perform
            )
            break
        except sa.exc.IntegrityError as exc:
            # PostgreSQL: a portal code committed while this reception waited
            # for the counter's lock is not in its statement's snapshot, so
            # the counter can hand it out; the code's primary key refused it,
            # and the next transaction steps over it (ADR 0015)
            if attempt == _CODE_ATTEMPTS or not code_taken(exc):
                raise
            log.warning("dossier_code_taken_meanwhile", attempt=attempt)
    if recorded and REPLAY_HEADER not in response.headers:
        log.info(
            "dossier_recorded",
            dossier_code=recorded[-1],
            outcome=body.outcome.value,
            procedure_code=body.procedure_code,
            channel=body.channel.value,
        )
    return response


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
