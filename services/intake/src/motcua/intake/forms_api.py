"""Printable forms 01, 02 and 03 of a dossier, by signed link or token."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from motcua.intake.api_common import ERRORS, NOT_FOUND, Ctx, DossierCode, load_dossier
from motcua.intake.domain import Outcome
from motcua.intake.forms import build_view, render_html, render_pdf
from motcua.shared.auth import decode_token
from motcua.shared.errors import ApiError
from motcua.shared.signing.pdf import sign_pdf

router = APIRouter(prefix="/api/v1", tags=["forms"])


_optional_bearer = HTTPBearer(auto_error=False, description="JWT, or use `sig`")


@router.get(
    "/dossiers/{code}/forms/{form}",
    response_class=Response,
    responses={
        200: {
            "content": {"text/html": {}, "application/pdf": {}},
            "description": "The printable form",
        },
        **ERRORS,
        **NOT_FOUND,
    },
    summary="Printable form 01 (receipt and appointment), 02 or 03",
    description="Open with the signed link returned on reception (`sig`), or "
    "with a bearer token of the receiving agency. `format=pdf` for a PDF, "
    "digitally signed (PAdES) by the receiving agency with the certificate "
    "published in the JWKS (`x5c`).",
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
    record = await load_dossier(ctx, code)
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
        # the receiving desk signs its printout (PAdES; ADR 0012)
        signed = await sign_pdf(
            render_pdf(view),
            agency_code=record.receiving_agency_code,
            keys=ctx.runtime.keys,
            at=ctx.now(),
            reason=view.title,
            location=view.agency_name,
        )
        return Response(
            signed,
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{code}-mau{form}.pdf"'},
        )
    return HTMLResponse(render_html(view))
