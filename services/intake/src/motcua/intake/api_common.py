"""What intake's dossier routes share: dependencies, documented error
answers, loading a dossier, queuing its events and presenting it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Header, Path
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.intake.context import IntakeContext, intake_context
from motcua.intake.reception import Outcome
from motcua.intake.schemas import DossierOut, FormLinks
from motcua.intake.tables import DossierRecord
from motcua.shared.auth import Principal, Role, require
from motcua.shared.contracts import VN_TZ, new_event
from motcua.shared.contracts.common import Channel, DossierStatus
from motcua.shared.contracts.dossier import DossierEventData
from motcua.shared.errors import ApiError, ErrorResponse
from motcua.shared.messaging import add_event

Officer = Annotated[
    Principal,
    Depends(require(Role.DESK_OFFICER, Role.PORTAL, Role.HELPER)),
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

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "No or invalid bearer token"},
    403: {"model": ErrorResponse, "description": "Another agency's dossier"},
    422: {"model": ErrorResponse, "description": "Invalid input, per field"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "No such dossier"}
}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorResponse, "description": "Not allowed in this status"}
}


def emit(
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


def present(ctx: IntakeContext, record: DossierRecord) -> DossierOut:
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


async def load_dossier(ctx: IntakeContext, code: str) -> DossierRecord:
    async with ctx.runtime.sessions() as session:
        record = await session.get(DossierRecord, code)
    if record is None:
        raise ApiError(404, "dossier_not_found", f"Không tìm thấy hồ sơ {code}.")
    return record
