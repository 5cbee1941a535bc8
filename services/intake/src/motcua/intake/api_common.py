"""What intake's dossier routes share: dependencies, documented error
answers, the use cases' refusals as HTTP answers, loading a dossier and
presenting it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Path, Request
from fastapi.responses import JSONResponse

from motcua.intake.context import IntakeContext, intake_context
from motcua.intake.domain import (
    ActRefusedError,
    InvalidDossierError,
    Outcome,
    Problem,
    UnknownDossierError,
)
from motcua.intake.portal_filings import FilingRefusedError
from motcua.intake.schemas import DossierOut, FormLinks
from motcua.intake.tables import DossierRecord
from motcua.shared.auth import Principal, Role, require
from motcua.shared.contracts import VN_TZ
from motcua.shared.contracts.common import Channel, DossierStatus, FiledBy
from motcua.shared.errors import ErrorDetail, ErrorResponse, error_response

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


def filed_by(principal: Principal) -> FiledBy:
    """Who filed the dossier, from the caller's role."""
    if principal.has_any([Role.DESK_OFFICER]):
        return FiledBy.DESK_OFFICER
    if principal.has_any([Role.HELPER]):
        return FiledBy.HELPER
    return FiledBy.ONLINE_PORTAL


def install_domain_errors(app: FastAPI) -> None:
    """Answer the use cases' refusals in the one error shape: an invalid
    dossier or a refused portal filing 422 with every problem per field, a
    refused act 409, an unknown dossier 404. Nothing was written in any of
    these cases."""

    async def invalid(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, InvalidDossierError)
        return error_response(
            422,
            "validation_failed",
            "Thông tin chưa hợp lệ, vui lòng kiểm tra các trường được nêu.",
            _details(exc.problems),
        )

    async def refused(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ActRefusedError)
        return error_response(409, exc.code, exc.message)

    async def unknown(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, UnknownDossierError)
        return error_response(404, "dossier_not_found", str(exc))

    async def filing_refused(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, FilingRefusedError)
        return error_response(422, exc.code, exc.message, _details(exc.problems))

    app.add_exception_handler(InvalidDossierError, invalid)
    app.add_exception_handler(FilingRefusedError, filing_refused)
    app.add_exception_handler(ActRefusedError, refused)
    app.add_exception_handler(UnknownDossierError, unknown)


def _details(problems: list[Problem]) -> list[ErrorDetail]:
    return [ErrorDetail(field=p.field, message=p.message) for p in problems]


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
        raise UnknownDossierError(code)
    return record
