"""Filings from the national portal (role ``portal``): parse, call the use
case (:func:`motcua.intake.commands.file_from_portal`), present."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import sqlalchemy as sa
import structlog
from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from motcua.intake import commands
from motcua.intake.api_common import Ctx, present
from motcua.intake.catalogue import PublishedProcedure
from motcua.intake.context import IntakeContext
from motcua.intake.domain import Problem
from motcua.intake.portal_filings import refusal
from motcua.intake.schemas import DossierOut, PortalFilingIn
from motcua.intake.tables import DossierRecord
from motcua.shared.auth import Principal, Role, require
from motcua.shared.errors import ErrorResponse, translate_validation_errors

log = structlog.get_logger(__name__)


class FilingRoute(APIRoute):
    """A malformed filing is refused like any other, with a machine code
    the portal service can act on (an invalid applicant identifier is
    ``applicant_id_invalid``, not a generic ``validation_failed``)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def refusing(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                details = translate_validation_errors(list(exc.errors()))
                problems = [Problem(d.field, d.message) for d in details]
                raise refusal(problems, malformed=True) from exc

        return refusing


router = APIRouter(prefix="/api/v1/portal", tags=["portal"], route_class=FilingRoute)

PortalSystem = Annotated[Principal, Depends(require(Role.PORTAL))]

RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": DossierOut, "description": "This filing was received before"},
    401: {"model": ErrorResponse, "description": "No or invalid bearer token"},
    403: {"model": ErrorResponse, "description": "Not the portal's token"},
    409: {
        "model": ErrorResponse,
        "description": "`dossier_code_taken`: another dossier holds the code",
    },
    422: {
        "model": ErrorResponse,
        "description": "Refused, nothing written; `error.code`: `procedure_unknown`, "
        "`agency_not_competent`, `applicant_id_invalid`, `procedure_not_online` or "
        "`filing_invalid`; `error.message` is for the citizen, `details` per field",
    },
}


@router.post(
    "/filings",
    status_code=201,
    response_model=DossierOut,
    responses=RESPONSES,
    summary="Receive a filing from the national portal as an online dossier",
    description="The dossier keeps the portal's code (`dossier_code`, ADR 0015) "
    "and is received as any online dossier: appointment, receipt, notices, "
    "routing (`dossier.received`). The same filing again answers 200 with the "
    "dossier and writes nothing.",
)
async def receive_filing(
    body: PortalFilingIn, portal: PortalSystem, ctx: Ctx
) -> JSONResponse:
    portal.ensure_agency(body.receiving_agency_code)
    published = await ctx.procedures.get(body.procedure_code)
    try:
        record, new = await _file(ctx, body, published, portal.name)
    except sa.exc.IntegrityError:
        # a twin won the race on the code: answer as its retry would be
        record, new = await _file(ctx, body, published, portal.name)
    if new:
        log.info(
            "portal_filing_received",
            dossier_code=record.code,
            procedure_code=record.procedure_code,
        )
    return JSONResponse(
        status_code=201 if new else 200,
        content=present(ctx, record).model_dump(mode="json"),
    )


async def _file(
    ctx: IntakeContext,
    body: PortalFilingIn,
    published: PublishedProcedure | None,
    officer: str,
) -> tuple[DossierRecord, bool]:
    async with ctx.runtime.transaction() as session:
        return await commands.file_from_portal(
            session, ctx, body, published=published, officer=officer
        )
